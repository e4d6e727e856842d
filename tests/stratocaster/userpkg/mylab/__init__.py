"""A stand-in for a lab's own package: a Protocol with measured values and Strategies using them (tests only)."""
