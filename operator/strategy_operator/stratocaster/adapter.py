"""A stratocaster Strategy as a source of raw weights for the engine's plan.

Upstream's Strategist calls `strategy.propose(network, results)` with the AlchemicalNetwork
and, for every transformation, the `ProtocolResult` gathered from its successful
ProtocolDAGResults (None when it has none), then `resolve()`s the weights. Here the
proposal's raw weights (`StrategyResult.weights`, keyed by gufe key) are mapped to the
network's scoped keys and handed to the engine, which validates and normalises them like
the built-ins' (negative, NaN, infinite or missing weights and all-zero weights are
StrategyErrors), then applies the errored filter, scaling, modes and dormancy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.base import Weights


class ProposeFailed(StrategyError):
    """The strategy's own `propose` raised, or returned something that is not a StrategyResult."""


class GufeWeights:
    """One iteration's weight source: a loaded Strategy with the gufe inputs already fetched.

    `scope` is the network's scope (`org-campaign-project`); a transformation's scoped key
    is its gufe key followed by it, as on the server.
    """

    def __init__(self, name: str, strategy: Any, network: Any, protocol_results: Mapping[Any, Any], scope: str) -> None:
        self.name = name
        self.strategy = strategy
        self.network = network
        self.protocol_results = protocol_results
        self.scope = scope

    def propose(self, graph: NetworkGraph, results: Mapping[str, int]) -> Weights:
        from stratocaster.base import StrategyResult

        try:
            proposal = self.strategy.propose(self.network, dict(self.protocol_results))
        except Exception as exc:  # noqa: BLE001 - user code; the traceback goes to the status
            raise ProposeFailed(f"{self.name}.propose raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(proposal, StrategyResult):
            raise ProposeFailed(
                f"{self.name}.propose returned {type(proposal).__name__}, not a stratocaster StrategyResult"
            )
        suffix = f"-{self.scope}"
        return {f"{key}{suffix}": weight for key, weight in proposal.weights.items()}
