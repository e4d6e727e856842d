"""Strategies by name: the built-ins, and any third strategy registered by its module."""

from __future__ import annotations

from typing import Any

from strategy_operator.engine.strategies.base import Strategy
from strategy_operator.engine.strategies.connectivity import ConnectivityStrategy
from strategy_operator.engine.strategies.radialgrowth import RadialGrowthStrategy
from strategy_operator.engine.strategies.settings import StrategySettings, settings_for

_STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make `cls` available by `cls.name` (usable as a class decorator)."""
    existing = _STRATEGIES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"a strategy named {cls.name!r} is already registered ({existing.__module__})")
    _STRATEGIES[cls.name] = cls
    return cls


def strategy_names() -> list[str]:
    return sorted(_STRATEGIES)


def settings_classes() -> dict[str, type[StrategySettings]]:
    return {name: cls.settings_class for name, cls in _STRATEGIES.items()}


def build_strategy(name: str, settings: dict[str, Any] | None) -> Strategy:
    """The strategy `name` with `settings` (None: its default settings); ValueError names the field."""
    resolved = settings_for(name, settings, settings_classes())
    return _STRATEGIES[name](resolved)


register_strategy(ConnectivityStrategy)
register_strategy(RadialGrowthStrategy)
