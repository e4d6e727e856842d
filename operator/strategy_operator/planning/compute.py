"""Simulated compute for planning: services that claim actioned tasks, run them, report.

The model is the alchemiscale sandbox's compute simulator, step for step, so that a
simulation and the operator running against the sandbox make the same decisions for the
same seed (tests/planning/test_agreement.py holds them to it):

- claims: `rate` tasks per simulated second accrue as a budget; each whole unit claims one
  waiting, actioned task, chosen at random (weighted by its ACTIONS weight, all equal here)
  among the claimable ones in key order; an idle service does not bank its budget;
- a claimed task runs `duration` seconds, then reports a failure with probability
  `failure_probability`, else a successful result; tasks that finish in the same step
  report in key order; a successful task leaves the hub, a failed one stays actioned
  (as `error`), exactly as on alchemiscale;
- one `random.Random(seed)` drives both the claims and the outcomes, in that order.

Unlike the sandbox it keeps nothing but keys and statuses, so 1000-transformation
networks simulate in seconds.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect, insort
from dataclasses import dataclass
from itertools import accumulate, repeat

# alchemiscale's defaults for a new ACTIONS link and a network's TaskHub; a compute service's
# random choices go through both, so the random stream depends on them.
ACTION_WEIGHT = 0.5
HUB_WEIGHT = 0.5
# Finishing times are compared with this slack, as the sandbox does, so 0.1 + 0.2 s counts as 0.3 s.
TIME_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class ComputeModel:
    """`rate`: tasks claimed per simulated second; `duration`: seconds a task runs;
    `failure_probability`: chance a finished task fails; `seed`: the random stream."""

    rate: float = 1.0 / 60
    duration: float = 1800.0
    failure_probability: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate: must be a finite number of tasks per second > 0, got {self.rate}")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"duration: must be a finite number of seconds >= 0, got {self.duration}")
        if not 0.0 <= self.failure_probability <= 1.0:
            raise ValueError(f"failure_probability: must be within [0, 1], got {self.failure_probability}")


@dataclass(frozen=True, slots=True)
class Finished:
    task: str
    ok: bool
    at: float


class ComputeServices:
    """The compute side of one simulated network: which tasks are claimable, which run.

    The owner (the simulated network) tells it what becomes claimable (`offer`) or stops
    being so (`withdraw`), and reads back what finished from `advance`.
    """

    def __init__(self, model: ComputeModel) -> None:
        self.model = model
        self.now = 0.0
        self._rng = random.Random(model.seed)
        self._budget = 0.0
        self._claimable: list[str] = []  # sorted task keys: waiting and actioned
        self._running: list[tuple[float, str]] = []  # heap of (finishing time, task key)
        self._running_keys: set[str] = set()
        self._cumulative: list[float] = []  # running sums of equal ACTIONS weights, grown on demand

    @property
    def idle(self) -> bool:
        """Nothing to claim and nothing running: time alone changes nothing."""
        return not self._claimable and not self._running

    @property
    def claimable(self) -> int:
        return len(self._claimable)

    def offer(self, task: str) -> None:
        insort(self._claimable, task)

    def withdraw(self, task: str) -> None:
        index = bisect(self._claimable, task) - 1
        if index >= 0 and self._claimable[index] == task:
            del self._claimable[index]

    def start_running(self, task: str, claimed_at: float) -> None:
        """A task already running when the simulation starts (or just claimed)."""
        heapq.heappush(self._running, (claimed_at + self.model.duration, task))
        self._running_keys.add(task)

    def is_running(self, task: str) -> bool:
        return task in self._running_keys

    def advance(self, seconds: float) -> tuple[list[str], list[Finished]]:
        """Advance time by `seconds`: claim what the rate allows, then finish what is due."""
        rng = self._rng
        self.now += seconds
        self._budget += self.model.rate * seconds
        claimed: list[str] = []
        while self._budget >= 1.0:
            if not self._claimable:
                self._budget = 0.0
                break
            self._budget -= 1.0
            rng.random()  # the choice of a TaskHub (one hub: always this one) draws once
            task = self._claimable.pop(self._pick(len(self._claimable)))
            claimed.append(task)
            self.start_running(task, self.now)
        due: list[str] = []
        while self._running and not self._running[0][0] > self.now + TIME_SLACK:
            due.append(heapq.heappop(self._running)[1])
        finished = []
        for task in sorted(due):
            self._running_keys.discard(task)
            finished.append(Finished(task, rng.random() >= self.model.failure_probability, self.now))
        return claimed, finished

    def _pick(self, count: int) -> int:
        """The index `random.choices(candidates, weights=[ACTION_WEIGHT] * count)` draws,
        without building the weights: the same cumulative sums, the same single draw."""
        if len(self._cumulative) < count:
            self._cumulative = list(accumulate(repeat(ACTION_WEIGHT, max(count, 2 * len(self._cumulative)))))
        return bisect(self._cumulative, self._rng.random() * self._cumulative[count - 1], 0, count - 1)
