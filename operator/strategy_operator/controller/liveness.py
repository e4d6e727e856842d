"""Knows which resources are due and whether the operator is still iterating them.

Kopf can silently drop a resource's timer (a failed status patch ends it), and a wedged
worker pool stops all progress; neither crashes the process. The tracker is fed from the
watch stream (every resource, its due time) and from the timers (each tick, each finished
pass), and declares the operator stalled when a resource has been due for longer than the
grace period and either its timer stopped ticking or no pass finished anywhere.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Tracked:
    name: str
    status: str
    active: bool
    due: float | None  # monotonic seconds; None = due now
    last_tick: float | None = None


@dataclass
class LivenessTracker:
    grace: float
    clock: Callable[[], float] = time.monotonic
    _resources: dict[str, _Tracked] = field(default_factory=dict)
    _last_progress: float | None = None
    _started: float = 0.0
    # Since when every Kubernetes call of a pass (Secret read, status write) has failed for
    # want of an answer; None while the API server answers.
    _kube_failing_since: float | None = None

    def __post_init__(self) -> None:
        self._started = self.clock()
        self._last_progress = self._started

    def observe(self, uid: str, name: str, *, status: str, active: bool, due_in: float | None) -> None:
        """Record what the latest watch event says about a resource; due_in in seconds from now."""
        now = self.clock()
        due = None if due_in is None else now + due_in
        tracked = self._resources.get(uid)
        if tracked is None:
            self._resources[uid] = _Tracked(name, status, active, due)
        else:
            tracked.name, tracked.status, tracked.active, tracked.due = name, status, active, due

    def forget(self, uid: str) -> None:
        self._resources.pop(uid, None)

    def ticked(self, uid: str) -> None:
        tracked = self._resources.get(uid)
        if tracked is not None:
            tracked.last_tick = self.clock()

    def progressed(self) -> None:
        self._last_progress = self.clock()

    def kube_answered(self) -> None:
        self._kube_failing_since = None

    def kube_unanswered(self) -> None:
        if self._kube_failing_since is None:
            self._kube_failing_since = self.clock()

    def kube_unreachable_for(self) -> float | None:
        """Seconds the Kubernetes API has failed every call of every pass, beyond the grace
        period, while a resource is active (no pass can then record anything); else None."""
        if self._kube_failing_since is None or not any(t.active for t in self._resources.values()):
            return None
        failing = self.clock() - self._kube_failing_since
        return failing if failing > self.grace else None

    def stalled(self) -> list[str]:
        """Names of active resources overdue by more than the grace period and not being served."""
        now = self.clock()
        pool_stuck = self._last_progress is None or now - self._last_progress > self.grace
        late = []
        for tracked in self._resources.values():
            if not tracked.active:
                continue
            due = self._started if tracked.due is None else tracked.due
            if now - max(due, self._started or due) <= self.grace:
                continue
            timer_dead = tracked.last_tick is None or now - tracked.last_tick > self.grace
            if timer_dead or pool_stuck:
                late.append(tracked.name)
        return sorted(late)

    def by_status(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for tracked in self._resources.values():
            counts[tracked.status] += 1
        return dict(counts)
