"""Strategies stored on networks, and their state. (part of `SandboxState`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    ServerFault,
    StrategyRecord,
    _parse_sk,
    validate_strategy_state,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def set_strategy(
    self: SandboxState, network_sk: ScopedKey | str, chain: list[Any] | None, state_fields: dict[str, Any]
) -> str | None:
    """Store a strategy verbatim with a replaced state; None removes it."""
    network_sk = _parse_sk(network_sk)
    with self._lock:
        # Upstream builds the state from the body first: a bad one is a 422 whatever the SK.
        state = validate_strategy_state(state_fields) if chain is not None else None
        if network_sk.qualname != "AlchemicalNetwork":
            raise ServerFault("not a network")  # upstream's 400 branch crashes
        network = self.networks.get(str(network_sk))
        if chain is None:
            if network is not None:
                network.strategy = None
            return None
        if network is None:
            raise ServerFault("no such network")
        assert state is not None
        gufe_key = chain[-1][0]
        strategy_sk = f"{gufe_key}-{network_sk.scope}"
        network.strategy = StrategyRecord(strategy_sk, chain, state)
        self._strategies.add(strategy_sk)
        return strategy_sk


def strategy(self: SandboxState, network_sk: str) -> StrategyRecord | None:
    with self._lock:
        network = self.networks.get(str(network_sk))
        return network.strategy if network else None


def awaken_strategy(self: SandboxState, network_sk: str) -> str | None:
    with self._lock:
        network = self.networks.get(str(network_sk))
        if network is None or network.strategy is None:
            return None
        state = network.strategy.state
        state.update(status="awake", exception=None, traceback=None)
        return network.sk
