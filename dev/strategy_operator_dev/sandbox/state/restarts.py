"""Task restart patterns. (part of `SandboxState`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    NOT_A_NETWORK,
    NetworkRecord,
    ServerFault,
    _parse_sk,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def _hub_for_patterns(self: SandboxState, network_sk: ScopedKey | str) -> NetworkRecord | None:
    network_sk = _parse_sk(network_sk)
    if network_sk.qualname != "AlchemicalNetwork":
        raise ServerFault(NOT_A_NETWORK)  # upstream does not catch it here
    return self.networks.get(str(network_sk))


def add_restart_patterns(
    self: SandboxState, network_sk: ScopedKey | str, patterns: list[str], max_retries: int
) -> None:
    """Patterns enforce the hub and apply to every task it actions now or later; the
    hub's errored tasks are resolved against them at once."""
    with self._lock:
        network = self._hub_for_patterns(network_sk)
        if network is None:
            raise ServerFault("No such TaskHub in the database")
        for pattern in patterns:
            re.compile(pattern)  # an invalid regex crashes upstream later; fail early
        hub_patterns = self._restart_patterns.setdefault(network.sk, {})
        actioned = list(self._actions[network.sk])
        for pattern in patterns:
            hub_patterns.setdefault(pattern, max_retries)
            for task_sk in actioned:
                self._applies.setdefault(task_sk, {}).setdefault((network.sk, pattern), 0)
        self._resolve_restarts(actioned)


def remove_restart_patterns(self: SandboxState, network_sk: ScopedKey | str, patterns: list[str]) -> None:
    with self._lock:
        network = self._hub_for_patterns(network_sk)
        if network is None:
            return
        hub_patterns = self._restart_patterns.get(network.sk, {})
        for pattern in patterns:
            if hub_patterns.pop(pattern, None) is not None:
                for applies in self._applies.values():
                    applies.pop((network.sk, pattern), None)


def clear_restart_patterns(self: SandboxState, network_sk: ScopedKey | str) -> None:
    with self._lock:
        network = self._hub_for_patterns(network_sk)
        if network is not None:
            self.remove_restart_patterns(network_sk, list(self._restart_patterns.get(network.sk, {})))


def set_restart_patterns_max_retries(
    self: SandboxState, network_sk: ScopedKey | str, patterns: list[str], max_retries: int
) -> None:
    with self._lock:
        network = self._hub_for_patterns(network_sk)
        hub_patterns = self._restart_patterns.get(network.sk, {}) if network else {}
        for pattern in patterns:
            if pattern in hub_patterns:
                hub_patterns[pattern] = max_retries


def restart_patterns(self: SandboxState, network_sks: list[ScopedKey]) -> dict[str, list[list[Any]]]:
    """{network SK: [[pattern, max_retries], ...]}."""
    with self._lock:
        out: dict[str, list[list[Any]]] = {}
        for sk in network_sks:
            network = self._hub_for_patterns(sk)
            patterns = self._restart_patterns.get(network.sk, {}) if network else {}
            out[str(sk)] = [[p, n] for p, n in patterns.items()]
        return out


def task_restart_retries(self: SandboxState, task_sk: str) -> dict[tuple[str, str], int]:
    """The task's APPLIES links: {(network SK, pattern): retries so far}."""
    with self._lock:
        return dict(self._applies.get(str(task_sk), {}))


def _latest_tracebacks(self: SandboxState, task_sk: str) -> list[str] | None:
    for ref_sk in reversed(self._results_of_task.get(task_sk, [])):
        ref = self.results[ref_sk]
        if ref.tracebacks is not None:
            return ref.tracebacks
    return None


def _resolve_restarts(self: SandboxState, task_sks: Iterable[str]) -> None:
    """Upstream's restart resolution for errored tasks with patterns applied: per hub, a
    matching pattern under its limit counts a retry; no match, an exceeded limit or no
    tracebacks cancels the task from that hub; a task still under any pattern afterwards
    goes back to waiting."""
    for task_sk in task_sks:
        task = self.tasks.get(task_sk)
        applies = self._applies.get(task_sk)
        if task is None or task.status != "error" or not applies:
            continue
        tracebacks = self._latest_tracebacks(task_sk)
        cancel: dict[str, bool | None] = {}
        to_increment: list[tuple[str, str]] = []
        for network_sk, pattern in list(applies):
            if tracebacks is None:
                cancel[network_sk] = True
            if cancel.get(network_sk):
                continue
            cancel.setdefault(network_sk, None)
            if any(re.search(pattern, message) for message in tracebacks or ()):
                if applies[(network_sk, pattern)] + 1 > self._restart_patterns[network_sk][pattern]:
                    cancel[network_sk] = True
                else:
                    to_increment.append((network_sk, pattern))
                    cancel[network_sk] = False
        for key in to_increment:
            applies[key] += 1
        for network_sk, verdict in cancel.items():
            if verdict in (True, None):
                self._unlink(task_sk, network_sk)
        if self._applies.get(task_sk):
            self._set_status(task, "waiting")
