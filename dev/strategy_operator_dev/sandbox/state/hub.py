"""Status counts and the TaskHub: actioning, cancelling, weights. (part of `SandboxState`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from strategy_operator.scopedkey import Scope, ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    ACTIONABLE_STATUSES,
    DEFAULT_ACTION_WEIGHT,
    NOT_A_NETWORK,
    BadRequest,
    NetworkRecord,
    ServerFault,
    _fullmatch,
    _parse_sk,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def transformation_status(self: SandboxState, transformation_sk: str) -> dict[str, int]:
    with self._lock:
        return dict(self._status_counts.get(str(transformation_sk), {}))


def network_status(self: SandboxState, network_sk: str) -> dict[str, int]:
    with self._lock:
        network = self.networks.get(str(network_sk))
        if network is None:
            return {}
        counts: dict[str, int] = {}
        for tf in network.transformations:
            for status, n in self._status_counts[tf].items():
                counts[status] = counts.get(status, 0) + n
        return counts


def networks_status(self: SandboxState, network_sks: list[str]) -> list[dict[str, int]]:
    """Aligned with the input; a network listed twice has its counts doubled (upstream defect)."""
    with self._lock:
        totals = Counter(network_sks)
        return [{s: n * totals[sk] for s, n in self.network_status(sk).items()} for sk in network_sks]


def scope_status(self: SandboxState, scopes: list[Scope], network_state: str | None = None) -> dict[str, int]:
    """Distinct tasks in the scopes whose transformation is in a network whose state matches."""
    with self._lock:
        counts: Counter[str] = Counter()
        for task in self.tasks.values():
            if not any(s.covers(ScopedKey.from_str(task.sk).scope) for s in scopes):
                continue
            networks = self._networks_of_transformation.get(task.transformation, ())
            if any(network_state is None or _fullmatch(network_state, self.networks[n].mark) for n in networks):
                counts[task.status] += 1
        return dict(counts)


def _network_for_hub(self: SandboxState, network_sk: ScopedKey | str) -> NetworkRecord | None:
    network_sk = _parse_sk(network_sk)
    if network_sk.qualname != "AlchemicalNetwork":
        raise BadRequest(NOT_A_NETWORK)
    return self.networks.get(str(network_sk))


def actioned_tasks(self: SandboxState, network_sk: ScopedKey | str) -> dict[str, float]:
    with self._lock:
        network = self._network_for_hub(network_sk)
        if network is None:
            return {}
        actions = self._actions[network.sk]
        return {sk: actions[sk] for sk in self._unordered(actions)}


def task_actioned_networks(self: SandboxState, task_sk: str) -> dict[str, float]:
    with self._lock:
        return {n: self._actions[n][str(task_sk)] for n in self._unordered(self._hubs_of_task.get(str(task_sk), ()))}


def action_tasks(
    self: SandboxState, network_sk: ScopedKey | str, task_sks: list[str], weight: float | list[float] | None = None
) -> list[str | None]:
    """Action tasks on the network's hub; weights are validated only after the actioning
    is committed, exactly like upstream (a 400 leaves the new links at weight 0.5)."""
    with self._lock:
        network = self._network_for_hub(network_sk)
        if network is None:
            return [None] * len(task_sks)
        actions = self._actions[network.sk]
        members = set(network.transformations)
        out: list[str | None] = []
        for sk in task_sks:
            task = self.tasks.get(str(sk))
            if (
                task is None
                or task.transformation not in members
                or task.status not in ACTIONABLE_STATUSES
                or task.sk in actions
            ):
                out.append(None)
                continue
            actions[task.sk] = DEFAULT_ACTION_WEIGHT
            self._hubs_of_task.setdefault(task.sk, set()).add(network.sk)
            for pattern in self._restart_patterns.get(network.sk, {}):
                self._applies.setdefault(task.sk, {}).setdefault((network.sk, pattern), 0)
            out.append(task.sk)
        if isinstance(weight, list):
            if len(weight) != len(task_sks):
                raise BadRequest("weight (when in a list) must have the same length as tasks")
            if any(not (0 <= w <= 1) for w in weight):
                raise BadRequest("weights must be between 0 and 1 (inclusive)")
            for sk, w in zip(task_sks, weight):
                if str(sk) in actions:
                    actions[str(sk)] = float(w)
        elif weight is not None:
            if not (0 <= weight <= 1):
                raise BadRequest("weight must be between 0 and 1 (inclusive)")
            for sk in task_sks:
                if str(sk) in actions:
                    actions[str(sk)] = float(weight)
        return out


def cancel_tasks(self: SandboxState, network_sk: ScopedKey | str, task_sks: list[str]) -> list[str | None]:
    with self._lock:
        network = self._network_for_hub(network_sk)
        if network is None:
            return [None] * len(task_sks)
        actions = self._actions[network.sk]
        out: list[str | None] = []
        for sk in task_sks:
            if actions.pop(str(sk), None) is None:
                out.append(None)
            else:
                self._unlink(str(sk), network.sk)
                out.append(str(sk))
        return out


def _unlink(self: SandboxState, task_sk: str, network_sk: str) -> None:
    """Remove one ACTIONS link and the APPLIES links of that hub's restart patterns."""
    self._actions[network_sk].pop(task_sk, None)
    self._hubs_of_task.get(task_sk, set()).discard(network_sk)
    applies = self._applies.get(task_sk)
    if applies:
        for key in [k for k in applies if k[0] == network_sk]:
            del applies[key]


def hub_weights(self: SandboxState, network_sks: list[str]) -> list[float | None]:
    if any(str(sk).split("-", 1)[0] != "AlchemicalNetwork" for sk in network_sks):
        raise ServerFault(NOT_A_NETWORK)  # upstream's GET handlers do not catch its ValueError
    with self._lock:
        return [n.hub_weight if (n := self.networks.get(str(sk))) else None for sk in network_sks]


def set_hub_weights(self: SandboxState, network_sks: list[str], weights: list[float]) -> list[str | None]:
    # Upstream's order of checks, and its messages.
    if any(not (0 <= w <= 1) for w in weights):
        raise BadRequest("all `weights` must be between 0 and 1 (inclusive)")
    if any(str(sk).split("-", 1)[0] != "AlchemicalNetwork" for sk in network_sks):
        raise BadRequest("a `networks` ScopedKey does not correspond to an `AlchemicalNetwork`")
    if len(network_sks) != len(weights):
        raise BadRequest("length of `networks` and `weights` must be the same")
    with self._lock:
        out: list[str | None] = []
        for sk, w in zip(network_sks, weights):
            network = self.networks.get(str(sk))
            if network is not None:
                network.hub_weight = float(w)
            out.append(network.sk if network else None)
        return out
