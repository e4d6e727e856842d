"""Strategies by name: the built-ins, and any third strategy registered by its module.

`BUILTINS` is the one list of the strategies the CRD admits: its strategy names, its settings
schema and its CEL rules all derive from it (`api/v1alpha1/spec.py`, `api/crd.py`), so adding a
built-in strategy is its module (the strategy and its settings class) plus one entry here.
"""

from __future__ import annotations

from typing import Any

from strategy_operator.engine.strategies.base import Strategy
from strategy_operator.engine.strategies.connectivity import ConnectivityStrategy
from strategy_operator.engine.strategies.radialgrowth import RadialGrowthStrategy
from strategy_operator.engine.strategies.settings import StrategySettings, settings_for

BUILTINS: tuple[type[Strategy], ...] = (ConnectivityStrategy, RadialGrowthStrategy)
# name -> settings class of every built-in, in BUILTINS order.
BUILTIN_SETTINGS: dict[str, type[StrategySettings]] = {cls.name: cls.settings_class for cls in BUILTINS}

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


for builtin in BUILTINS:
    register_strategy(builtin)
