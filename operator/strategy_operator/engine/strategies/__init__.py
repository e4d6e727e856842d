"""Strategies: the interface, the two built-ins and the registry that finds them by name."""

from strategy_operator.engine.strategies.base import Strategy, Weights, resolve_weights, validate_weights
from strategy_operator.engine.strategies.connectivity import ConnectivityStrategy
from strategy_operator.engine.strategies.radialgrowth import RadialGrowthStrategy
from strategy_operator.engine.strategies.registry import (
    build_strategy,
    register_strategy,
    settings_classes,
    strategy_names,
)

__all__ = [
    "ConnectivityStrategy",
    "RadialGrowthStrategy",
    "Strategy",
    "Weights",
    "build_strategy",
    "register_strategy",
    "resolve_weights",
    "settings_classes",
    "strategy_names",
    "validate_weights",
]
