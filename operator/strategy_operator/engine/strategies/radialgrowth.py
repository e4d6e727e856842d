"""RadialGrowthStrategy: complete the network shell by shell, outward from its centre.

Shells are eccentricity levels within each weakly connected component. For a transformation
t from a to b: lo/hi = min/max of ecc(a), ecc(b); L, the lowest incomplete level of the
component, is the smallest lo(t) over result-less transformations with hi(t) < D (the
component's largest eccentricity), or D when there is none. This canonical L is what
stratocaster computes when its edge walk happens to visit the lowest level first; its
actual result depends on the hash seed (docs/engine.md, "Differences from upstream").
With d = hi(t) - L: f = 1 for d = 0, rate^(d-1) for 0 != d <= candidacy_max_distance
(so d = 1 is unpenalised and d < 0 is boosted, as upstream), and 0 beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from pydantic import Field

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.base import Strategy, Weights
from strategy_operator.engine.strategies.settings import Integer, Number, StrategySettings


class RadialGrowthSettings(StrategySettings):
    """RadialGrowthStrategy: grow outward from the network's centre, shell by shell."""

    strategy_name: ClassVar[str] = "RadialGrowthStrategy"

    max_runs: Integer = Field(
        default=3,
        ge=1,
        description="A transformation with this many successful results is finished. At least 1; default 3.",
    )
    candidacy_max_distance: Integer = Field(
        default=1,
        ge=1,
        description="RadialGrowthStrategy: transformations more than this many eccentricity shells beyond "
        "the lowest incomplete shell get weight 0 (not now). At least 1; default 1.",
    )
    decay_repeat_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="RadialGrowthStrategy: factor applied per successful result. Strictly between 0 and 1; default 0.5.",
    )
    decay_distance_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="RadialGrowthStrategy: factor applied per shell of distance beyond the first. "
        "Strictly between 0 and 1; default 0.5.",
    )


class RadialGrowthStrategy(Strategy):
    name = "RadialGrowthStrategy"
    settings_class = RadialGrowthSettings
    settings: RadialGrowthSettings

    def propose(self, graph: NetworkGraph, results: Mapping[str, int]) -> Weights:
        if not graph.keys:
            return {}
        settings = self.settings
        eccentricity = graph.eccentricities()
        component = graph.component_labels()[graph.source]
        ecc_a, ecc_b = eccentricity[graph.source], eccentricity[graph.target]
        lo, hi = np.minimum(ecc_a, ecc_b), np.maximum(ecc_a, ecc_b)
        counts = np.fromiter((results.get(key, 0) for key in graph.keys), dtype=np.int64, count=len(graph.keys))

        labels = int(graph.component_labels().max()) + 1
        diameter = np.zeros(labels, dtype=np.int64)  # D per component: max ecc over its systems
        np.maximum.at(diameter, graph.component_labels(), eccentricity)
        level = diameter.copy()  # L per component
        open_inner = (counts == 0) & (hi < diameter[component])
        np.minimum.at(level, component[open_inner], lo[open_inner])

        distance = (hi - level[component]).tolist()
        repeat, spread, reach = (
            settings.decay_repeat_rate,
            settings.decay_distance_rate,
            settings.candidacy_max_distance,
        )
        weights: Weights = {}
        for key, count, d in zip(graph.keys, counts.tolist(), distance):
            if count >= settings.max_runs:
                weights[key] = None
                continue
            if d > reach:
                factor = 0.0
            elif d == 0:
                factor = 1.0
            else:
                try:
                    factor = spread ** (d - 1)
                except OverflowError:  # d < 0: the boost rate^(d-1) of a transformation inside L
                    raise StrategyError(
                        f"{self.name}: settings.decay_distance_rate {spread!r} boosts {key} by "
                        f"{spread!r}^{d - 1}, beyond the floating-point range; use a larger rate"
                    ) from None
            weights[key] = repeat**count * factor
        return weights
