"""The strategy interface, and the checks every strategy's weights pass before use.

A strategy turns the network's topology and per-transformation successful result counts
into raw weights: a non-negative float ("this much") or None ("finished, never again") for
every transformation. The engine validates and normalises them (`resolve_weights`), so a
strategy plugged in by name cannot hand the scaling step a negative, NaN or missing weight.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.settings import StrategySettings

Weights = dict[str, float | None]


class Strategy(ABC):
    """Subclass, set `name` and `settings_class`, implement `propose`, then `register_strategy`."""

    name: ClassVar[str]
    settings_class: ClassVar[type[StrategySettings]]

    def __init__(self, settings: StrategySettings | None = None) -> None:
        settings = self.settings_class.default_settings() if settings is None else settings
        if not isinstance(settings, self.settings_class):
            raise TypeError(f"{self.name} needs {self.settings_class.__name__}, not {type(settings).__name__}")
        self.settings = settings

    @abstractmethod
    def propose(self, graph: NetworkGraph, results: Mapping[str, int]) -> Weights:
        """Raw weights for every transformation of `graph`; `results[key]` is its successful result count."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r})"


def validate_weights(strategy_name: str, weights: Mapping[str, object], keys: tuple[str, ...]) -> None:
    """Keys exactly the network's transformations; values None or finite floats >= 0."""
    expected = set(keys)
    given = set(weights)
    if given != expected:
        missing, extra = sorted(expected - given), sorted(given - expected)
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} transformation(s), e.g. {missing[0]}")
        if extra:
            parts.append(f"{len(extra)} key(s) not in the network, e.g. {extra[0]}")
        raise StrategyError(f"{strategy_name} weights: " + "; ".join(parts))
    for key in keys:
        value = weights[key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StrategyError(
                f"{strategy_name} weight of {key}: must be a number or null, not {type(value).__name__}"
            )
        if not math.isfinite(value) or value < 0:
            raise StrategyError(f"{strategy_name} weight of {key}: must be finite and >= 0, not {value!r}")


def resolve_weights(strategy_name: str, weights: Mapping[str, float | None], keys: tuple[str, ...]) -> Weights:
    """Validate, then divide every non-None weight by their sum (stratocaster's `resolve`).

    The sum is `math.fsum` over the weights: exactly rounded, so it does not depend on the
    order the transformations were listed in (upstream's plain `sum` follows hash order).
    All non-None weights being 0 is an error here, where stratocaster raises a bare
    ZeroDivisionError; the built-in strategies cannot produce it.
    """
    validate_weights(strategy_name, weights, keys)
    live = [weight for key in keys if (weight := weights[key]) is not None]
    if not live:
        return {key: None for key in keys}
    try:
        total = math.fsum(live)
    except OverflowError:
        raise StrategyError(
            f"{strategy_name} weights: their sum exceeds the floating-point range, so they cannot be normalised"
        ) from None
    if total == 0:
        raise StrategyError(
            f"{strategy_name} weights: every non-null weight is 0, so they cannot be normalised "
            f"({len(live)} transformation(s) weighted 0 and none positive)"
        )
    return {key: (None if (weight := weights[key]) is None else float(weight) / total) for key in keys}
