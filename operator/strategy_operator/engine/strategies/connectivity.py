"""ConnectivityStrategy: favour transformations between well-connected systems.

raw(t) = decay_rate^n(t) x (deg(a) + deg(b)) / 2, with degrees taken in the multigraph.
Each transformation is weighted on its own, parallel ones included (stratocaster drops all
but one of a parallel pair, depending on the hash seed). The formula is local, so proposing
per weakly connected component and merging gives the same as one pass over the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field, model_validator

from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.base import Strategy, Weights
from strategy_operator.engine.strategies.settings import Integer, Number, StrategySettings


class ConnectivitySettings(StrategySettings):
    """ConnectivityStrategy: weigh transformations by the connectivity of their systems."""

    strategy_name: ClassVar[str] = "ConnectivityStrategy"
    # CEL rules of this strategy's settings in the CRD (api.v1alpha1 gathers every strategy's).
    cel_rules: ClassVar[tuple[dict[str, str], ...]] = (
        {
            "rule": "self.name != 'ConnectivityStrategy' || !has(self.settings) "
            "|| has(self.settings.max_runs) || has(self.settings.cutoff)",
            "message": "ConnectivityStrategy settings need max_runs or cutoff (or both); "
            "omit settings entirely to use the defaults (max_runs 3, decay_rate 0.5)",
            "fieldPath": ".settings",
            "reason": "FieldValueInvalid",
        },
    )

    decay_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Factor applied to a transformation's weight per successful result: "
        "weight = decay_rate^results x mean degree of its two systems. Strictly between 0 and 1; default 0.5.",
    )
    cutoff: Number | None = Field(
        default=None,
        gt=0,
        description="A transformation whose weight falls below this value is finished (weight null). "
        "Greater than 0. At least one of cutoff and max_runs must be set.",
    )
    max_runs: Integer | None = Field(
        default=None,
        ge=1,
        description="ConnectivityStrategy: a transformation with this many successful results is finished. "
        "At least 1; at least one of cutoff and max_runs must be set. "
        "RadialGrowthStrategy: the same, at least 1, default 3.",
    )

    @model_validator(mode="after")
    def _needs_a_stop_rule(self) -> ConnectivitySettings:
        if self.cutoff is None and self.max_runs is None:
            raise ValueError(
                "ConnectivityStrategy settings need max_runs or cutoff (or both); "
                "omit settings entirely to use the defaults (max_runs 3, decay_rate 0.5)"
            )
        return self

    @classmethod
    def default_settings(cls) -> ConnectivitySettings:
        return cls(max_runs=3, decay_rate=0.5, cutoff=None)


class ConnectivityStrategy(Strategy):
    name = "ConnectivityStrategy"
    settings_class = ConnectivitySettings
    settings: ConnectivitySettings

    def propose(self, graph: NetworkGraph, results: Mapping[str, int]) -> Weights:
        decay, cutoff, max_runs = self.settings.decay_rate, self.settings.cutoff, self.settings.max_runs
        degrees = graph.degrees().tolist()
        weights: Weights = {}
        for key, a, b in zip(graph.keys, graph.source.tolist(), graph.target.tolist()):
            count = results.get(key, 0)
            raw = decay**count * (degrees[a] + degrees[b]) / 2
            finished = (max_runs is not None and count >= max_runs) or (cutoff is not None and raw < cutoff)
            weights[key] = None if finished else raw
        return weights
