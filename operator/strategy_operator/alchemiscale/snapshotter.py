"""Observe one network in few requests, and render the engine's snapshot document.

A `NetworkSnapshotter` lives as long as the operator watches the network and keeps what
it learnt between iterations. Per observation it sends, when nothing changed:

    POST /bulk/networks/status          whole-network status counts
    GET  /networks/{sk}/tasks?status=s  one per live status (waiting, running, error) present
    POST /networks/{sk}/tasks/actioned  the TaskHub's actioned tasks (not for `result_count()`)

— at most five requests, whatever the network's size; everything else is cached, and once
per resync interval the results of every transformation are re-read (one request each).

What the result-count cache relies on (alchemiscale 0.8.0; docs/alchemiscale-client.md,
"What the result count relies on"):

* Results exist only through tasks; a transformation without tasks has 0 results.
* A result normally arrives with a status change of its task (running -> complete or
  error). So a transformation's results are re-read when one of its tasks changes status,
  leaves the live statuses (waiting/running/error), or finished without ever being seen
  live — either one of our own (we know its key from the creation answer) or a foreign
  one, which the status counts reveal (more complete/invalid/deleted tasks than known).
* A result can also be posted *without* a status change: by a compute service that lost
  its claim (its task was reset running -> waiting, or set invalid/deleted while running).
  Such transformations are re-read at every observation for `late_result_window` seconds
  after the claim was seen to be lost. A late result arriving after that window, or after
  a claim loss that happened entirely between two observations (running -> waiting ->
  running, say; also a second result on a task that is complete by then), is counted at
  the next observed status change of any task of its transformation, or by the next
  *resync*: every `resync_interval` seconds (and on a rebuilt snapshotter) an observation
  re-reads the results of every transformation, so no late result stays uncounted longer
  than that, whatever happened between two observations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from strategy_operator.alchemiscale.client import AlchemiscaleClient, scoped_key
from strategy_operator.alchemiscale.errors import RequestRejected, TransientError
from strategy_operator.alchemiscale.structure import NetworkStructure, load_structure
from strategy_operator.scopedkey import parse_network_key

LIVE_STATUSES = ("waiting", "running", "error")
SETTLED_STATUSES = ("complete", "invalid", "deleted")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TransformationObservation:
    key: str
    state_a: str
    state_b: str
    results: int


@dataclass(frozen=True, slots=True)
class TaskObservation:
    key: str
    transformation: str
    status: str
    actioned: bool


@dataclass(frozen=True, slots=True)
class Observation:
    """What one observation saw; `tasks` holds the live (waiting/running/error) tasks."""

    network: str
    chemical_systems: tuple[str, ...]
    transformations: tuple[TransformationObservation, ...]
    tasks: tuple[TaskObservation, ...]
    requests: int
    results_read: int
    # The network's tasks by status, every status present (0 when none): what alchemiscale's
    # get_network_status reports, read by the same request that detects changes.
    task_counts: dict[str, int]

    @property
    def result_count(self) -> int:
        """R: successful results summed over every transformation of the network."""
        return sum(t.results for t in self.transformations)


class NetworkSnapshotter:
    """Observes one network through `client`, keeping caches across observations."""

    def __init__(
        self,
        client: AlchemiscaleClient,
        network_key: str,
        *,
        concurrency: int | None = None,
        late_result_window: float = 3600.0,
        resync_interval: float | None = None,
    ) -> None:
        scoped_key(network_key, what="network", parse=parse_network_key)
        self.client = client
        self.network = network_key
        self.concurrency = concurrency or client.max_connections
        self.late_result_window = late_result_window
        self._structure: NetworkStructure | None = None
        self._results: dict[str, int] = {}
        self._live: dict[str, str] = {}
        self._settled: set[str] = set()
        self._claim_lost: dict[str, tuple[str, float]] = {}
        self.resync_interval = resync_interval
        self._last_full_read: float | None = None
        self.resyncs = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"NetworkSnapshotter(network={self.network!r}, client={self.client!r})"

    def forget(self) -> None:
        """Drop what this snapshotter taught the (possibly shared) client: its network is no longer watched."""
        mapping = self.client.task_transformations
        for task in (*self._live, *self._settled):
            mapping.pop(task, None)
        self._results, self._live, self._settled, self._claim_lost = {}, {}, set(), {}
        self._structure = None

    def _resync_due(self, now: float) -> bool:
        if self._last_full_read is None:
            return True
        return self.resync_interval is not None and now - self._last_full_read >= self.resync_interval

    async def result_count(self) -> int:
        """R, exact per the cache rules above: an observation without the TaskHub read."""
        return (await self.observe_counts()).result_count

    async def observe_counts(self) -> Observation:
        """An observation without the TaskHub read: result and task counts are exact, `actioned` is not read."""
        async with self._lock:
            return await self._observe(read_hub=False)

    async def _map(self, func: Callable[[T], Awaitable[R]], items: Iterable[T]) -> list[R]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(item: T) -> R:
            async with limit:
                return await func(item)

        return list(await asyncio.gather(*(one(i) for i in items)))

    async def observe(self) -> Observation:
        async with self._lock:
            return await self._observe()

    async def _observe(self, read_hub: bool = True) -> Observation:
        client = self.client
        started = client.requests_sent
        if self._structure is None:
            self._structure = await load_structure(client, self.network, concurrency=self.concurrency)
        structure = self._structure
        in_network = structure.transformation_keys
        mapping = client.task_transformations

        # Counts first, lists after: a task finishing in between then looks "left the live
        # statuses" (handled), never "finished unseen" (which would cost a full listing).
        counts = (await client.networks_status([self.network]))[0] or {}
        present = [s for s in LIVE_STATUSES if counts.get(s)]
        listings = await asyncio.gather(
            *(client.network_tasks(self.network, s) for s in present),
            client.network_actioned_tasks(self.network) if counts and read_hub else _empty(),
        )
        live: dict[str, str] = {}
        for status, tasks in zip(present, listings):
            for task in tasks:
                live[task] = status
        actioned = set(listings[-1])
        settled_total = sum(counts.get(s, 0) for s in SETTLED_STATUSES)

        now = time.time()
        resync = self._resync_due(time.monotonic())
        dirty: set[str] = set()
        settled = set(self._settled)
        claim_lost = {t: v for t, v in self._claim_lost.items() if v[1] > now}

        # Tasks that left the live statuses since the last observation, and known tasks (e.g.
        # created by us) never seen live and not in the lists: finished unseen, or changed
        # status between the counts and the lists. Only their status tells which.
        gone = [t for t in self._live if t not in live]
        gone += [
            task
            for task, transformation in mapping.items()
            if transformation in in_network and task not in live and task not in settled and task not in self._live
        ]
        if gone:
            statuses = await client.tasks_status(gone)
            for task, status in zip(gone, statuses):
                transformation = mapping.get(task)
                if status in LIVE_STATUSES:
                    live[task] = status  # changed status between two listings; still live
                    continue
                settled.add(task)
                if transformation is not None:
                    dirty.add(transformation)
                    if self._live.get(task) == "running" and status in ("invalid", "deleted"):
                        claim_lost[task] = (transformation, now + self.late_result_window)
        for task, status in live.items():
            previous = self._live.get(task)
            if previous is not None and previous != status:
                transformation = mapping.get(task)
                if transformation is not None:
                    dirty.add(transformation)
                if previous == "running" and status == "waiting" and transformation is not None:
                    claim_lost[task] = (transformation, now + self.late_result_window)

        # Live tasks whose transformation we do not know yet, and settled tasks we never saw.
        unknown = [t for t in live if t not in mapping]
        cold = not self._results
        needs_listing = settled_total > len(settled) or len(unknown) >= max(1, len(structure.transformations))
        if unknown and not needs_listing:
            try:
                await self._map(client.task_transformation, unknown)
            except (TransientError, RequestRejected):
                # alchemiscale 0.8.0 answers 500 for some tasks that extend another one.
                needs_listing = True
        tasks_per_transformation: dict[str, int] | None = None
        if needs_listing:
            tasks_per_transformation = {}
            keys = [e.key for e in structure.transformations]
            unlisted: list[str] = []
            for transformation, tasks in zip(keys, await self._map(client.transformation_tasks, keys)):
                tasks_per_transformation[transformation] = len(tasks)
                for task in tasks:
                    mapping[task] = transformation
                    if task not in live and task not in settled:
                        unlisted.append(task)
            if len(settled) + len(unlisted) > settled_total:
                # More than the counts call settled: some tasks were created or changed
                # status after the status lists were read. Only their status tells which.
                for task, status in zip(unlisted, await client.tasks_status(unlisted)):
                    if status in LIVE_STATUSES:
                        live[task] = status
                unlisted = [task for task in unlisted if task not in live]
            for task in unlisted:
                settled.add(task)
                dirty.add(mapping[task])

        # Which transformations' results to (re-)read.
        if cold:
            if not counts:
                to_read: set[str] = set()
            elif tasks_per_transformation is not None:
                to_read = {t for t, n in tasks_per_transformation.items() if n}
            else:
                # Every task is live and now mapped, or settled and known (then dirty).
                to_read = {mapping[t] for t in live if mapping.get(t) in in_network} | dirty
            results = {e.key: 0 for e in structure.transformations}
        elif resync:
            to_read = set(in_network)
            results = dict(self._results)
        else:
            to_read = dirty | {transformation for transformation, _ in claim_lost.values()}
            results = dict(self._results)
        to_read &= in_network
        ordered = sorted(to_read)
        for transformation, refs in zip(ordered, await self._map(client.transformation_results, ordered)):
            results[transformation] = len(set(refs))

        # Commit only after every request succeeded, so a failed observation is redone whole.
        self._results = results
        self._live = live
        self._settled = settled
        self._claim_lost = claim_lost
        if resync or cold:
            self._last_full_read = time.monotonic()
            self.resyncs += not cold

        transformations = tuple(
            TransformationObservation(e.key, e.state_a, e.state_b, results.get(e.key, 0))
            for e in structure.transformations
        )
        tasks = tuple(
            sorted(
                (
                    TaskObservation(task, mapping[task], status, task in actioned)
                    for task, status in live.items()
                    if mapping.get(task) in in_network
                ),
                key=lambda t: (t.transformation, t.key),
            )
        )
        return Observation(
            network=self.network,
            chemical_systems=structure.chemical_systems,
            transformations=transformations,
            tasks=tasks,
            requests=client.requests_sent - started,
            results_read=len(ordered),
            task_counts={status: int(counts.get(status, 0)) for status in LIVE_STATUSES + SETTLED_STATUSES},
        )


async def _empty() -> list[Any]:
    return []


def build_snapshot(
    observation: Observation,
    *,
    strategy: Mapping[str, Any],
    mode: str = "partial",
    task_scaling: str = "exponential",
    max_tasks_per_transformation: int = 3,
    state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The engine's snapshot document (camelCase, docs/engine.md) for one observation.

    `strategy` is `{"name": ..., "settings": {...}}` (settings may be omitted or None for the
    strategy's defaults); `state` is `{"status": ..., "lastIterationResultCount": ...}` or None.
    """
    if "name" not in strategy:
        raise ValueError("strategy: field 'name' is required")
    strategy_doc: dict[str, Any] = {"name": strategy["name"]}
    if strategy.get("settings") is not None:
        strategy_doc["settings"] = dict(strategy["settings"])
    document: dict[str, Any] = {
        "network": observation.network,
        "strategy": strategy_doc,
        "mode": mode,
        "taskScaling": task_scaling,
        "maxTasksPerTransformation": max_tasks_per_transformation,
    }
    if state is not None:
        document["state"] = dict(state)
    document["chemicalSystems"] = list(observation.chemical_systems)
    document["transformations"] = [
        {"key": t.key, "stateA": t.state_a, "stateB": t.state_b, "results": t.results}
        for t in observation.transformations
    ]
    document["tasks"] = [
        {"key": t.key, "transformation": t.transformation, "status": t.status, "actioned": t.actioned}
        for t in observation.tasks
    ]
    return document
