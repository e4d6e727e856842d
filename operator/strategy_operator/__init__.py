"""alchemiscale-strategy-operator: run alchemiscale Strategies from Kubernetes."""

__version__ = "0.1.0"
