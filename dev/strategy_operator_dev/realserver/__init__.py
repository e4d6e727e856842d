"""A real alchemiscale 0.8.0 server on loopback, for tests and local use (never in the image)."""
