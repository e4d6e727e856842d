"""The compute side: test hooks and what the simulator calls to claim and finish tasks. (part of `SandboxState`)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    DEFAULT_FAILURE_TRACEBACK,
    ResultRecord,
    TaskRecord,
    _gufe_key,
    _utcnow,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def claim_task(self: SandboxState, task_sk: str, claimant: str = "sandbox-compute", now: float | None = None) -> None:
    """waiting -> running for one task (a direct hook: no actioning rules applied)."""
    with self._lock:
        task = self._task_or_error(task_sk)
        if task.status != "waiting":
            raise ValueError(f"task {task_sk} is {task.status}, only waiting tasks can be claimed")
        self._set_status(task, "running")
        task.claim = claimant
        task.claimed_at = now


def complete_task(
    self: SandboxState,
    task_sk: str,
    ok: bool = True,
    creator: str = "sandbox-compute",
    tracebacks: Sequence[str] | None = None,
    payload: bytes | None = None,
    obj_key: str | None = None,
) -> str:
    """Submit a result (successful when `ok`, a failure otherwise) and return its ref SK.

    Like upstream, the ref is attached whatever the task's status; the status changes only
    from running (or when already in the target status): ok -> complete, leaving every hub;
    failure -> error, staying actioned, after which the hubs' restart patterns are matched
    against the failure's `tracebacks` (default: one generic simulated traceback).
    `payload` (with the ProtocolDAGResult's gufe key `obj_key`) replaces the simulated
    result: e.g. a real ProtocolDAGResult's keyed chain, zstd-compressed as upstream stores it.
    """
    with self._lock:
        task = self._task_or_error(task_sk)
        self._result_counter += 1
        created = _utcnow()
        scope = ScopedKey.from_str(task.sk).scope
        payload_doc = {
            "__qualname__": "ProtocolDAGResult",
            "transformation_key": _gufe_key(task.transformation),
            "extends_key": task.extends,
            "ok": ok,
            "task": task.sk,
            "n": self._result_counter,
        }
        if payload is None:
            obj_key = f"ProtocolDAGResult-{hashlib.md5(json.dumps(payload_doc, sort_keys=True).encode()).hexdigest()}"
            payload = json.dumps([[obj_key, payload_doc]], sort_keys=True).encode("utf-8")
        elif obj_key is None:
            raise ValueError("a given payload needs its ProtocolDAGResult's gufe key (obj_key)")
        ref_token = hashlib.md5(f"{obj_key}|{created.isoformat()}|{self._result_counter}".encode()).hexdigest()
        ref_sk = f"ProtocolDAGResultRef-{ref_token}-{scope}"
        if not ok and tracebacks is None:
            tracebacks = [DEFAULT_FAILURE_TRACEBACK]
        self.results[ref_sk] = ResultRecord(
            ref_sk,
            task.sk,
            task.transformation,
            ok,
            obj_key,
            f"protocoldagresult/{ref_token}",
            created,
            creator,
            payload,
            None if ok else list(tracebacks or []),
        )
        self._results_of_task.setdefault(task.sk, []).append(ref_sk)
        target = "complete" if ok else "error"
        if task.status in ("running", target):
            self._set_status(task, target)
            self._release_claim(task)
            if ok:
                self._unaction_everywhere(task.sk)
            else:
                self._resolve_restarts([task.sk])
        return ref_sk


def expire_task(self: SandboxState, task_sk: str) -> None:
    """running -> waiting, as when the claiming compute service's heartbeat expires."""
    with self._lock:
        task = self._task_or_error(task_sk)
        if task.status != "running":
            raise ValueError(f"task {task_sk} is {task.status}, only running tasks can expire")
        self._set_status(task, "waiting")
        self._release_claim(task)


def _task_or_error(self: SandboxState, task_sk: str) -> TaskRecord:
    task = self.tasks.get(str(task_sk))
    if task is None:
        raise KeyError(f"no task {task_sk}")
    return task


def claimable_tasks(self: SandboxState, network_sk: str) -> dict[str, float]:
    """Tasks a compute service could claim from this network's hub, with ACTIONS weights."""
    with self._lock:
        out = {}
        for sk, weight in self._actions.get(str(network_sk), {}).items():
            task = self.tasks[sk]
            if task.status != "waiting" or weight <= 0:
                continue
            if task.extends is not None and self.tasks[task.extends].status != "complete":
                continue
            out[sk] = weight
        return out


def claim_next(
    self: SandboxState, rng: random.Random, claimant: str = "sandbox-compute", now: float | None = None
) -> str | None:
    """Claim one task like a compute service: pick a hub by hub weight, then the lowest
    priority value, weighted-random by ACTIONS weight among equals."""
    with self._lock:
        hubs = []
        for network in self.networks.values():
            if network.hub_weight <= 0:
                continue
            claimable = self.claimable_tasks(network.sk)
            if claimable:
                hubs.append((network, claimable))
        if not hubs:
            return None
        hubs.sort(key=lambda h: h[0].sk)
        network, claimable = rng.choices(hubs, weights=[h[0].hub_weight for h in hubs])[0]
        best = min(self.tasks[sk].priority for sk in claimable)
        candidates = sorted(sk for sk in claimable if self.tasks[sk].priority == best)
        chosen = rng.choices(candidates, weights=[claimable[sk] for sk in candidates])[0]
        self.claim_task(chosen, claimant, now)
        return chosen


def running_tasks(self: SandboxState) -> list[TaskRecord]:
    with self._lock:
        return [t for t in self.tasks.values() if t.status == "running"]
