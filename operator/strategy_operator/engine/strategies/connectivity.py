"""ConnectivityStrategy: favour transformations between well-connected systems.

raw(t) = decay_rate^n(t) x (deg(a) + deg(b)) / 2, with degrees taken in the multigraph.
Each transformation is weighted on its own, parallel ones included (stratocaster drops all
but one of a parallel pair, depending on the hash seed). The formula is local, so proposing
per weakly connected component and merging gives the same as one pass over the network.
"""

from __future__ import annotations

from collections.abc import Mapping

from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.base import Strategy, Weights
from strategy_operator.engine.strategies.settings import ConnectivitySettings


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
