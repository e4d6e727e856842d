"""Development-only helpers of alchemiscale-strategy-operator (never shipped in the image)."""
