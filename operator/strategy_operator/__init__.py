"""alchemiscale-strategy-operator: run alchemiscale Strategies from Kubernetes."""

__version__ = "0.1.0"

GROUP = "alchemiscale.org"
VERSION = "v1alpha1"
KIND = "NetworkStrategy"
PLURAL = "networkstrategies"
SINGULAR = "networkstrategy"
SHORT_NAMES = ("nstrat",)
