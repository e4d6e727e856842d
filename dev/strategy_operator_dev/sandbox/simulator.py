"""Simulated compute services: claim actioned tasks, run them for a while, report results.

Time is simulated: `step(seconds)` advances the simulator's clock, so tests are exact and
reproducible (same seed and same steps -> same claims and outcomes). `start()` runs the
same stepping in a background thread against the wall clock for demos and the CLI.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from strategy_operator_dev.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class ComputeSettings:
    """`rate`: tasks claimed per second; `duration`: seconds a task runs;
    `failure_probability`: chance a finished task reports a failure instead of a result."""

    rate: float = 1.0
    failure_probability: float = 0.0
    duration: float = 0.0
    seed: int | None = 0
    tick: float = 0.05  # wall-clock seconds between steps when running in a thread

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise ValueError(f"rate: must be >= 0 tasks per second, got {self.rate}")
        if not 0.0 <= self.failure_probability <= 1.0:
            raise ValueError(f"failure_probability: must be within [0, 1], got {self.failure_probability}")
        if self.duration < 0:
            raise ValueError(f"duration: must be >= 0 seconds, got {self.duration}")
        if self.tick <= 0:
            raise ValueError(f"tick: must be > 0 seconds, got {self.tick}")


@dataclass
class StepReport:
    claimed: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class SimulatorTotals:
    claimed: int = 0
    completed: int = 0
    failed: int = 0


class Simulator:
    def __init__(
        self, state: SandboxState, settings: ComputeSettings | None = None, *, name: str = "sandbox-compute"
    ) -> None:
        self.state = state
        self.settings = settings or ComputeSettings()
        self.name = name
        self.now = 0.0
        self.totals = SimulatorTotals()
        self._rng = random.Random(self.settings.seed)
        self._budget = 0.0
        self._step_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, seconds: float = 1.0) -> StepReport:
        """Advance simulated time: claim what the rate allows, then finish tasks whose run
        time has elapsed (a zero duration finishes a task in the step that claimed it)."""
        if seconds < 0:
            raise ValueError(f"seconds: must be >= 0, got {seconds}")
        report = StepReport()
        with self._step_lock:
            self.now += seconds
            self._budget += self.settings.rate * seconds
            while self._budget >= 1.0:
                claimed = self.state.claim_next(self._rng, claimant=self.name, now=self.now)
                if claimed is None:
                    self._budget = 0.0  # idle services do not bank claims
                    break
                self._budget -= 1.0
                report.claimed.append(claimed)
            for task in sorted(self.state.running_tasks(), key=lambda t: t.sk):
                if task.claim != self.name or task.claimed_at is None:
                    continue
                if task.claimed_at + self.settings.duration > self.now + 1e-9:
                    continue
                ok = self._rng.random() >= self.settings.failure_probability
                self.state.complete_task(task.sk, ok=ok, creator=self.name)
                (report.completed if ok else report.failed).append(task.sk)
        self.totals.claimed += len(report.claimed)
        self.totals.completed += len(report.completed)
        self.totals.failed += len(report.failed)
        return report

    def run_until_idle(self, seconds_per_step: float = 1.0, max_steps: int = 10_000) -> int:
        """Step until nothing is claimable and nothing of ours runs; the number of steps taken."""
        for steps in range(1, max_steps + 1):
            self.step(seconds_per_step)
            if not any(t.claim == self.name for t in self.state.running_tasks()) and not any(
                self.state.claimable_tasks(n) for n in list(self.state.networks)
            ):
                return steps
        raise RuntimeError(f"compute did not go idle within {max_steps} steps")

    # background mode

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"{self.name}-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.settings.tick):
            now = time.monotonic()
            self.step(now - last)
            last = now
