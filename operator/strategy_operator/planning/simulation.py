"""Run the real engine, iteration by iteration, against simulated compute.

Pure: no HTTP, no clock. Each iteration builds the snapshot the operator's snapshotter
would see (live tasks in (transformation, key) order, the network's result counts, the
strategy's state), calls `plan_iteration` on it exactly as the operator does, and carries
the plan out the way alchemiscale would (task keys drawn like the sandbox draws them,
Transformations before NonTransformations); then compute runs for one sleep interval.

A run ends when the strategy is dormant and compute is idle (nothing can change any
more: *dormant*), when an iteration changes nothing and compute is idle while the strategy
is still awake (*stalled*, e.g. every weighted transformation blocked by errored tasks),
or after `max_iterations` iterations (*bound*).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from strategy_operator.engine import NetworkGraph, Plan, Snapshot, build_strategy, plan_iteration
from strategy_operator.engine.vocabulary import Mode, TaskScaling
from strategy_operator.planning.compute import ComputeModel, ComputeServices
from strategy_operator.scopedkey import ScopedKey

Outcome = Literal["dormant", "stalled", "bound"]
LIVE_STATUSES = frozenset({"waiting", "running", "error"})


@dataclass(frozen=True, slots=True)
class Choice:
    """One combination of the settings being compared."""

    mode: Mode
    task_scaling: TaskScaling
    max_tasks_per_transformation: int

    def __post_init__(self) -> None:
        if self.mode is Mode.disabled:
            raise ValueError("mode: a disabled strategy never acts, so there is nothing to simulate")
        if self.max_tasks_per_transformation < 1:
            raise ValueError(f"max_tasks_per_transformation: must be >= 1, got {self.max_tasks_per_transformation}")

    @property
    def label(self) -> str:
        return f"{self.mode.value}/{self.task_scaling.value}/max {self.max_tasks_per_transformation}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """`sleep_interval`: simulated seconds between iterations; `step`: compute's time step."""

    sleep_interval: float = 3600.0
    step: float = 60.0
    max_iterations: int = 500

    def __post_init__(self) -> None:
        if not self.sleep_interval > 0:
            raise ValueError(f"sleep_interval: must be > 0 seconds, got {self.sleep_interval}")
        if not 0 < self.step <= self.sleep_interval:
            raise ValueError(f"step: must be > 0 and at most the sleep interval, got {self.step}")
        if self.max_iterations < 1:
            raise ValueError(f"max_iterations: must be >= 1, got {self.max_iterations}")

    @property
    def steps_per_interval(self) -> int:
        return max(1, round(self.sleep_interval / self.step))


@dataclass(frozen=True, slots=True)
class IterationRecord:
    """One iteration: what the plan did and how the network stood right after it."""

    index: int
    time: float
    ran: bool
    status: str
    created: int
    actioned: int
    cancelled: int
    results: int
    finished: int
    blocked: int
    actioned_after: int
    tasks_created_so_far: int


@dataclass
class SimulationResult:
    choice: Choice
    outcome: Outcome
    iterations: int
    """Iterations that ran (as the resource's status.iterations counts them) until the end."""
    time: float
    """Simulated seconds from the first iteration to the last one that ran."""
    tasks_created: int
    tasks_cancelled: int
    tasks_wasted: int
    surplus_results: int
    peak_actioned: int
    transformations: int
    results: dict[str, int]
    history: list[IterationRecord] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)

    @property
    def blocked(self) -> int:
        """Transformations held back by errored tasks at the last iteration."""
        return self.history[-1].blocked if self.history else 0

    def to_json(self) -> dict[str, Any]:
        counts = sorted(self.results.values())
        return {
            "mode": self.choice.mode.value,
            "taskScaling": self.choice.task_scaling.value,
            "maxTasksPerTransformation": self.choice.max_tasks_per_transformation,
            "outcome": self.outcome,
            "blockedTransformations": self.blocked,
            "iterations": self.iterations,
            "simulatedSeconds": self.time,
            "tasksCreated": self.tasks_created,
            "tasksCancelled": self.tasks_cancelled,
            "tasksWasted": self.tasks_wasted,
            "surplusResults": self.surplus_results,
            "peakActionedTasks": self.peak_actioned,
            "resultsPerTransformation": {
                "min": counts[0] if counts else 0,
                "median": counts[len(counts) // 2] if counts else 0,
                "max": counts[-1] if counts else 0,
                "total": sum(counts),
                "byTransformation": dict(sorted(self.results.items())),
            },
            "history": [
                {
                    "iteration": r.index,
                    "time": r.time,
                    "ran": r.ran,
                    "status": r.status,
                    "created": r.created,
                    "actioned": r.actioned,
                    "cancelled": r.cancelled,
                    "results": r.results,
                    "finished": r.finished,
                    "blocked": r.blocked,
                    "actionedTasks": r.actioned_after,
                    "tasksCreated": r.tasks_created_so_far,
                }
                for r in self.history
            ],
        }


@dataclass(slots=True)
class _Task:
    key: str
    transformation: str
    status: str
    actioned: bool
    created: bool  # by the simulation (not already on the network)


class SimulatedNetwork:
    """The server side: tasks, ACTIONS links and results of one network."""

    def __init__(self, base: Snapshot, compute: ComputeServices, key_seed: int) -> None:
        self.base = base
        self.compute = compute
        self._keys = random.Random(key_seed)
        self.results = {t.key: t.results for t in base.transformations}
        self.initial_results = dict(self.results)
        self.tasks: dict[str, _Task] = {}
        self.live_by_transformation: dict[str, dict[str, None]] = defaultdict(dict)
        # Successful results in order of arrival, per transformation: (task key, created by us).
        self.arrivals: dict[str, list[bool]] = defaultdict(list)
        self.actioned = 0
        for task in base.tasks:
            self._add(_Task(task.key, task.transformation, task.status, task.actioned, created=False))
            if task.status == "running":
                compute.start_running(task.key, 0.0)
            elif task.status == "waiting" and task.actioned:
                compute.offer(task.key)

    def _add(self, task: _Task) -> None:
        self.tasks[task.key] = task
        if task.status in LIVE_STATUSES:
            self.live_by_transformation[task.transformation][task.key] = None
        self.actioned += task.actioned

    def snapshot(self, choice: Choice, status: str, last_count: int) -> Snapshot:
        base = self.base
        tasks = []
        for transformation in sorted(self.live_by_transformation):
            for key in sorted(self.live_by_transformation[transformation]):
                task = self.tasks[key]
                tasks.append(
                    {"key": key, "transformation": transformation, "status": task.status, "actioned": task.actioned}
                )
        document = {
            "network": base.network,
            "strategy": base.strategy.model_dump(mode="json", exclude_none=True),
            "mode": choice.mode.value,
            "taskScaling": choice.task_scaling.value,
            "maxTasksPerTransformation": choice.max_tasks_per_transformation,
            "state": {"status": status, "lastIterationResultCount": last_count},
            "chemicalSystems": list(base.chemical_systems),
            "transformations": [
                {"key": t.key, "stateA": t.state_a, "stateB": t.state_b, "results": self.results[t.key]}
                for t in base.transformations
            ],
            "tasks": tasks,
        }
        return Snapshot.model_validate(document)

    def apply(self, plan: Plan) -> tuple[int, int, int]:
        """Create, action and cancel as `execute_plan` does; (created, actioned, cancelled)."""
        created = 0
        # alchemiscale creates a request's Transformations' tasks first, then NonTransformations'.
        order = sorted(plan.create, key=lambda key: key.split("-", 1)[0] != "Transformation")
        for transformation in order:
            scope = ScopedKey.from_str(transformation).scope
            for _ in range(plan.create[transformation]):
                token = uuid.UUID(int=self._keys.getrandbits(128), version=4).hex
                key = f"Task-{token}-{scope}"
                self._add(_Task(key, transformation, "waiting", True, created=True))
                self.compute.offer(key)
                created += 1
        actioned = 0
        for key in plan.action:
            task = self.tasks[key]
            if task.actioned or task.status not in LIVE_STATUSES:
                continue
            task.actioned = True
            self.actioned += 1
            actioned += 1
            if task.status == "waiting":
                self.compute.offer(key)
        cancelled = 0
        for key in plan.cancel:
            task = self.tasks[key]
            if not task.actioned:
                continue
            task.actioned = False
            self.actioned -= 1
            cancelled += 1
            if task.status == "waiting":
                self.compute.withdraw(key)
        return created, actioned, cancelled

    def run_compute(self, seconds: float) -> None:
        claimed, finished = self.compute.advance(seconds)
        for key in claimed:
            self.tasks[key].status = "running"
        for done in finished:
            task = self.tasks[done.task]
            if done.ok:
                task.status = "complete"
                del self.live_by_transformation[task.transformation][task.key]
                if task.actioned:
                    task.actioned = False
                    self.actioned -= 1
                self.results[task.transformation] += 1
                self.arrivals[task.transformation].append(task.created)
            else:
                task.status = "error"  # stays actioned, blocking its transformation


def simulate(
    base: Snapshot, choice: Choice, compute: ComputeModel, schedule: Schedule = Schedule(), *, keep_plans: bool = False
) -> SimulationResult:
    """Simulate one choice from `base` (the network as it stands, its tasks and results)."""
    services = ComputeServices(compute)
    network = SimulatedNetwork(base, services, key_seed=compute.seed)
    status = base.state.status
    last_count = base.state.last_iteration_result_count
    history: list[IterationRecord] = []
    plans: list[Plan] = []
    created_total = cancelled_total = peak = ran_iterations = 0
    last_ran_time = 0.0
    outcome: Outcome = "bound"
    for index in range(schedule.max_iterations):
        now = index * schedule.sleep_interval
        plan = plan_iteration(network.snapshot(choice, status, last_count))
        if keep_plans:
            plans.append(plan)
        created = actioned = cancelled = 0
        if plan.ran:
            created, actioned, cancelled = network.apply(plan)
            status, last_count = plan.status, plan.result_count
            ran_iterations += 1
            last_ran_time = now
        created_total += created
        cancelled_total += cancelled
        peak = max(peak, network.actioned)
        summary = plan.summary
        previous = history[-1] if history else None
        history.append(
            IterationRecord(
                index=index,
                time=now,
                ran=plan.ran,
                status=status,
                created=created,
                actioned=actioned,
                cancelled=cancelled,
                results=sum(network.results.values()),
                finished=summary.transformations_finished if plan.ran else (previous.finished if previous else 0),
                blocked=summary.transformations_blocked if plan.ran else (previous.blocked if previous else 0),
                actioned_after=network.actioned,
                tasks_created_so_far=created_total,
            )
        )
        if services.idle:
            if status == "dormant":
                outcome = "dormant"
                break
            if plan.ran and not (created or actioned or cancelled):
                outcome = "stalled"
                break
        for _ in range(schedule.steps_per_interval):
            network.run_compute(schedule.step)

    needed = needed_results(base, network.results, floor=network.initial_results)
    useful_from_created = 0
    for transformation, arrivals in network.arrivals.items():
        slots = max(0, needed[transformation] - network.initial_results[transformation])
        useful_from_created += sum(arrivals[:slots])
    surplus = sum(max(0, count - needed[key]) for key, count in network.results.items())
    return SimulationResult(
        choice=choice,
        outcome=outcome,
        iterations=ran_iterations,
        time=last_ran_time,
        tasks_created=created_total,
        tasks_cancelled=cancelled_total,
        tasks_wasted=created_total - useful_from_created,
        surplus_results=surplus,
        peak_actioned=peak,
        transformations=len(base.transformations),
        results=dict(network.results),
        history=history,
        plans=plans,
    )


def needed_results(base: Snapshot, results: dict[str, int], floor: Mapping[str, int] | None = None) -> dict[str, int]:
    """Per transformation, the results the final weights needed (never fewer than `floor`).

    A transformation the strategy still weighs needs every result it has. One it has
    finished with (raw weight null) needs the fewest results at which the strategy, with
    every other transformation's results as they are at the end, would still call it
    finished; results beyond that are surplus. `floor` (the results a simulation started
    with) bounds the search: results that were there before are not the simulation's to
    judge, and the strategy is asked once per result above it, not once per result.
    """
    floor = floor or {}
    graph = NetworkGraph.build(((t.key, t.state_a, t.state_b) for t in base.transformations), base.chemical_systems)
    strategy = build_strategy(base.strategy.name, base.strategy.settings)
    final = strategy.propose(graph, results)
    needed = dict(results)
    probe = dict(results)
    for key, count in results.items():
        lowest = min(count, floor.get(key, 0))
        if final[key] is not None or count == lowest:
            continue
        fewest = count
        while fewest > lowest:
            probe[key] = fewest - 1
            if strategy.propose(graph, probe)[key] is not None:
                break
            fewest -= 1
        probe[key] = count
        needed[key] = fewest
    return needed


def compare(
    base: Snapshot, choices: Iterable[Choice], compute: ComputeModel, schedule: Schedule = Schedule()
) -> list[SimulationResult]:
    """Every choice from the same network with the same compute and seed."""
    return [simulate(base, choice, compute, schedule) for choice in choices]
