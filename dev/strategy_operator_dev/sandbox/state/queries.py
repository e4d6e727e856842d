"""Network state (active, inactive, ...) and the object queries with scope intersection. (part of `SandboxState`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strategy_operator.planning.networks import (
    NETWORK_STATES,
)
from strategy_operator.scopedkey import Scope, ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    NOT_A_NETWORK,
    BadRequest,
    _fullmatch,
    _in_key_order,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def get_network_states(self: SandboxState, network_sks: list[str]) -> list[str | None]:
    with self._lock:
        return [n.mark if (n := self.networks.get(sk)) else None for sk in network_sks]


def set_network_states(self: SandboxState, network_sks: list[ScopedKey], states: list[str]) -> list[str | None]:
    if len(network_sks) != len(states):
        raise BadRequest("networks and states must have the same length")
    for sk, state in zip(network_sks, states):  # pair by pair, as upstream
        if sk.qualname != "AlchemicalNetwork":
            raise BadRequest(NOT_A_NETWORK)
        if state not in NETWORK_STATES:
            raise BadRequest(f"'{state}' is not a valid state. Valid values include: {list(NETWORK_STATES)}")
    with self._lock:
        out: list[str | None] = []
        for sk, state in zip(network_sks, states):
            network = self.networks.get(str(sk))
            if network is None:
                out.append(None)
            else:
                network.mark = state
                out.append(network.sk)
        return out


def query_networks(self: SandboxState, scope: Scope, name: str | None = None, state: str | None = None) -> list[str]:
    with self._lock:
        found = []
        for network in self.networks.values():
            if not scope.covers(ScopedKey.from_str(network.sk).scope):
                continue
            if name is not None and not _fullmatch(name, network.name):
                continue
            if state is not None and not _fullmatch(state, network.mark):
                continue
            found.append(network.sk)
        return self._unordered(found)


# Transformations, chemical systems and tasks are queried by upstream's generic `_query`:
# `name`/`status` are matched as properties (equality, not a regex, unlike networks),
# and the answer is ordered by org, campaign, project, gufe_key.


def query_transformations(self: SandboxState, scope: Scope, name: str | None = None) -> list[str]:
    with self._lock:
        return _in_key_order(
            t.sk
            for t in self.transformation_records.values()
            if scope.covers(ScopedKey.from_str(t.sk).scope) and (name is None or t.name == name)
        )


def query_chemical_systems(self: SandboxState, scope: Scope, name: str | None = None) -> list[str]:
    with self._lock:
        return _in_key_order(
            s.sk
            for s in self.chemical_systems.values()
            if scope.covers(ScopedKey.from_str(s.sk).scope) and (name is None or s.name == name)
        )


def query_tasks(self: SandboxState, scope: Scope, status: str | None = None) -> list[str]:
    with self._lock:
        return _in_key_order(
            t.sk
            for t in self.tasks.values()
            if scope.covers(ScopedKey.from_str(t.sk).scope) and (status is None or t.status == status)
        )
