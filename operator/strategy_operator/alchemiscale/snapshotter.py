"""Observe one network in few requests; what an observation saw is in observation.py.

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
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strategy_operator.alchemiscale.client import AlchemiscaleClient, scoped_key
from strategy_operator.alchemiscale.errors import NetworkNotFound, RequestRejected, TransientError
from strategy_operator.alchemiscale.observation import Observation, TaskObservation, TransformationObservation
from strategy_operator.alchemiscale.structure import NetworkStructure, load_structure
from strategy_operator.scopedkey import parse_network_key

LIVE_STATUSES = ("waiting", "running", "error")
SETTLED_STATUSES = ("complete", "invalid", "deleted")

T = TypeVar("T")
R = TypeVar("R")


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
        self._refs: dict[str, tuple[str, ...]] = {}
        self._live: dict[str, str] = {}
        # Tasks in the order this snapshotter first saw them. The server lists tasks in
        # database order (oldest first on alchemiscale 0.8.0), which is the order upstream's
        # Strategist picks among equal tasks in; later tasks are newer. Kept across
        # observations so that a task's place never changes.
        self._first_seen: dict[str, int] = {}
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
        self._results, self._refs, self._live, self._settled, self._claim_lost = {}, {}, {}, set(), {}
        self._first_seen = {}
        self._structure = None
        self.client.forget_network_text(self.network)

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

    def forget_structure(self) -> None:
        """Read the structure afresh next time (the network may have gone, or come back)."""
        self._structure = None
        self._results = {}

    async def _observe(self, read_hub: bool = True) -> Observation:
        try:
            return await self._observe_existing(read_hub)
        except NetworkNotFound:
            self.forget_structure()
            # The client's kept keyed-chain text would otherwise hide the network's absence.
            self.client.forget_network_text(self.network)
            raise

    async def _observe_existing(self, read_hub: bool) -> Observation:
        client = self.client
        started = client.requests_sent
        structure_cached = self._structure is not None
        if self._structure is None:
            self._structure = await load_structure(client, self.network, concurrency=self.concurrency)
        step = await self._read_counts_and_lists(read_hub, structure_cached)
        await self._settle_tasks_gone(step)
        self._note_status_changes(step)
        cold = not self._results
        resync = self._resync_due(time.monotonic())
        tasks_per_transformation = await self._map_unknown_tasks(step)
        ordered, results, refs_of = await self._read_results(step, cold, tasks_per_transformation, resync=resync)

        # Commit only after every request succeeded, so a failed observation is redone whole.
        self._results = results
        self._refs = refs_of
        self._live = step.live
        self._settled = step.settled
        self._claim_lost = step.claim_lost
        for task in step.live:
            self._first_seen.setdefault(task, len(self._first_seen))
        if resync or cold:
            self._last_full_read = time.monotonic()
            self.resyncs += not cold
        return self._observation(
            step, results, refs_of, requests=client.requests_sent - started, results_read=len(ordered)
        )

    async def _read_counts_and_lists(self, read_hub: bool, structure_cached: bool) -> _Step:
        """The network's status counts, then its live tasks by status and the hub's actioned ones."""
        client = self.client
        # Counts first, lists after: a task finishing in between then looks "left the live
        # statuses" (handled), never "finished unseen" (which would cost a full listing).
        counts = (await client.networks_status([self.network]))[0] or {}
        # No counts: a network without tasks, or one that is gone (alchemiscale answers {} for
        # both, and a cached structure would hide the difference). One request tells; a
        # structure read just now already proved that the network exists.
        if not counts and structure_cached and not await client.exists(self.network):
            raise NetworkNotFound(f"network {self.network} does not exist on {client.url} (any more)")
        present = [s for s in LIVE_STATUSES if counts.get(s)]
        listings = await asyncio.gather(
            *(client.network_tasks(self.network, s) for s in present),
            client.network_actioned_tasks(self.network) if counts and read_hub else _empty(),
        )
        live: dict[str, str] = {}
        for status, tasks in zip(present, listings):
            for task in tasks:
                live[task] = status
        now = time.time()
        return _Step(
            counts=counts,
            live=live,
            actioned=set(listings[-1]),
            settled_total=sum(counts.get(s, 0) for s in SETTLED_STATUSES),
            now=now,
            settled=set(self._settled),
            claim_lost={t: v for t, v in self._claim_lost.items() if v[1] > now},
        )

    async def _settle_tasks_gone(self, step: _Step) -> None:
        """Tasks that left the live statuses, or known and never seen live: ask their status.

        Known tasks (e.g. created by us) never seen live and not in the lists finished unseen,
        or changed status between the counts and the lists; only their status tells which.
        """
        assert self._structure is not None
        in_network = self._structure.transformation_keys
        mapping = self.client.task_transformations
        gone = [t for t in self._live if t not in step.live]
        gone += [
            task
            for task, transformation in mapping.items()
            if transformation in in_network
            and task not in step.live
            and task not in step.settled
            and task not in self._live
        ]
        if not gone:
            return
        statuses = await self.client.tasks_status(gone)
        for task, status in zip(gone, statuses):
            transformation = mapping.get(task)
            if status in LIVE_STATUSES:
                step.live[task] = status  # changed status between two listings; still live
                continue
            step.settled.add(task)
            if transformation is not None:
                step.dirty.add(transformation)
                if self._live.get(task) == "running" and status in ("invalid", "deleted"):
                    step.claim_lost[task] = (transformation, step.now + self.late_result_window)

    def _note_status_changes(self, step: _Step) -> None:
        """Live tasks whose status changed: their transformation's results are re-read."""
        mapping = self.client.task_transformations
        for task, status in step.live.items():
            previous = self._live.get(task)
            if previous is None or previous == status:
                continue
            transformation = mapping.get(task)
            if transformation is None:
                continue
            step.dirty.add(transformation)
            if previous == "running" and status == "waiting":
                step.claim_lost[task] = (transformation, step.now + self.late_result_window)

    async def _map_unknown_tasks(self, step: _Step) -> dict[str, int] | None:
        """Map live tasks of unknown transformation, and find settled tasks never seen.

        One request per unknown task while few are unknown; one listing per transformation
        otherwise (then returns the tasks per transformation, else None).
        """
        assert self._structure is not None
        structure = self._structure
        client = self.client
        mapping = client.task_transformations
        unknown = [t for t in step.live if t not in mapping]
        needs_listing = step.settled_total > len(step.settled) or len(unknown) >= max(1, len(structure.transformations))
        if unknown and not needs_listing:
            try:
                await self._map(client.task_transformation, unknown)
            except (TransientError, RequestRejected):
                # alchemiscale 0.8.0 answers 500 for some tasks that extend another one.
                needs_listing = True
        if not needs_listing:
            return None
        tasks_per_transformation: dict[str, int] = {}
        keys = [e.key for e in structure.transformations]
        unlisted: list[str] = []
        for transformation, tasks in zip(keys, await self._map(client.transformation_tasks, keys)):
            tasks_per_transformation[transformation] = len(tasks)
            for task in tasks:
                mapping[task] = transformation
                if task not in step.live and task not in step.settled:
                    unlisted.append(task)
        if len(step.settled) + len(unlisted) > step.settled_total:
            # More than the counts call settled: some tasks were created or changed
            # status after the status lists were read. Only their status tells which.
            for task, status in zip(unlisted, await client.tasks_status(unlisted)):
                if status in LIVE_STATUSES:
                    step.live[task] = status
            unlisted = [task for task in unlisted if task not in step.live]
        for task in unlisted:
            step.settled.add(task)
            step.dirty.add(mapping[task])
        return tasks_per_transformation

    async def _read_results(
        self, step: _Step, cold: bool, tasks_per_transformation: dict[str, int] | None, *, resync: bool = False
    ) -> tuple[list[str], dict[str, int], dict[str, tuple[str, ...]]]:
        """Re-read the results of the transformations that may have new ones: (read, all counts, result refs)."""
        assert self._structure is not None
        structure = self._structure
        in_network = structure.transformation_keys
        mapping = self.client.task_transformations
        if cold:
            if not step.counts:
                to_read: set[str] = set()
            elif tasks_per_transformation is not None:
                to_read = {t for t, n in tasks_per_transformation.items() if n}
            else:
                # Every task is live and now mapped, or settled and known (then dirty).
                to_read = {mapping[t] for t in step.live if mapping.get(t) in in_network} | step.dirty
            results = {e.key: 0 for e in structure.transformations}
            refs_of: dict[str, tuple[str, ...]] = {}
        elif resync:
            to_read = set(in_network)
            results = dict(self._results)
            refs_of = dict(self._refs)
        else:
            to_read = step.dirty | {transformation for transformation, _ in step.claim_lost.values()}
            results = dict(self._results)
            refs_of = dict(self._refs)
        to_read &= in_network
        ordered = sorted(to_read)
        for transformation, refs in zip(ordered, await self._map(self.client.transformation_results, ordered)):
            unique = tuple(sorted(set(refs)))
            results[transformation] = len(unique)
            if unique:
                refs_of[transformation] = unique
            else:
                refs_of.pop(transformation, None)
        return ordered, results, refs_of

    def _observation(
        self,
        step: _Step,
        results: Mapping[str, int],
        refs_of: Mapping[str, tuple[str, ...]],
        *,
        requests: int,
        results_read: int,
    ) -> Observation:
        assert self._structure is not None
        structure = self._structure
        in_network = structure.transformation_keys
        mapping = self.client.task_transformations
        transformations = tuple(
            TransformationObservation(e.key, e.state_a, e.state_b, results.get(e.key, 0))
            for e in structure.transformations
        )
        tasks = tuple(
            sorted(
                (
                    TaskObservation(task, mapping[task], status, task in step.actioned)
                    for task, status in step.live.items()
                    if mapping.get(task) in in_network
                ),
                key=lambda t: (t.transformation, self._first_seen[t.key]),
            )
        )
        return Observation(
            network=self.network,
            chemical_systems=structure.chemical_systems,
            transformations=transformations,
            tasks=tasks,
            requests=requests,
            results_read=results_read,
            task_counts={status: int(step.counts.get(status, 0)) for status in LIVE_STATUSES + SETTLED_STATUSES},
            result_refs=refs_of,
        )


@dataclass
class _Step:
    """One observation in progress: what was read so far, and which transformations to re-read."""

    counts: Mapping[str, int]
    live: dict[str, str]
    actioned: set[str]
    settled_total: int
    now: float
    settled: set[str]
    claim_lost: dict[str, tuple[str, float]]
    dirty: set[str] = field(default_factory=set)


async def _empty() -> list[Any]:
    return []
