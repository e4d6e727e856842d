"""The operator's long-lived objects: one `Runtime` per process, one `ResourceState` per resource.

`start()` builds them on the operator's event loop at Kopf start-up and `configure_kopf()`
sets Kopf's own settings; `stop()` undoes what `start()` did. With `--leader-election`,
`Runtime.lead()` waits for the Lease (`leader.py`) before Kopf starts watching, and a lost
Lease cancels every pass in flight and stops the process (exit code 3, see `main.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kopf

from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.api import FINALIZER, GROUP
from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.kube import SecretReader, StatusWriter
from strategy_operator.controller.leader import LeaderElector, LeaseTimings
from strategy_operator.controller.liveness import LivenessTracker
from strategy_operator.controller.metrics import Metrics
from strategy_operator.controller.ownership import NetworkOwners
from strategy_operator.controller.probes import HealthServer
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.scheduling import utcnow
from strategy_operator.controller.sessions import SessionCache

ANNOTATION_PREFIX = GROUP


@dataclass
class Runtime:
    """Operator-wide objects, created at start-up on the operator's event loop."""

    config: OperatorConfig
    runner: IterationRunner
    semaphore: asyncio.Semaphore
    metrics: Metrics
    tracker: LivenessTracker
    executor: ThreadPoolExecutor
    health: HealthServer | None
    status_writer: StatusWriter
    # One alchemiscale client per (server, identity), shared by every resource using them.
    pool: ClientPool
    owners: NetworkOwners = field(default_factory=NetworkOwners)
    requests_counted: int = 0
    # Passes over one network never overlap, whichever resources name it: two plans made
    # from the same snapshot would each create the missing tasks, doubling the cap.
    network_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # With leader election: the Lease, and the passes in flight to cancel if it is lost.
    leader: LeaderElector | None = None
    passes: set[asyncio.Future[Any]] = field(default_factory=set)
    leadership_task: asyncio.Task[None] | None = None

    @property
    def acting(self) -> bool:
        """False on a standby, and from the moment a leader loses its Lease."""
        return self.leader is None or self.leader.leading

    async def lead(self, memo: kopf.Memo) -> None:
        """With leader election: wait for the Lease, then keep it in the background (a standby
        only waits here: Kopf watches nothing and runs no handler until start-up returns)."""
        config = self.config
        if not config.leader_election:
            return
        assert config.operator_namespace is not None  # the settings insist on it
        self.leader = LeaderElector(
            config.operator_namespace,
            config.leader_election_lease,
            timings=LeaseTimings.for_duration(config.leader_election_lease_duration),
        )
        await self.leader.acquire()
        self.leadership_task = asyncio.create_task(
            self.leader.keep(lambda: self.leadership_lost(memo)), name="leadership"
        )

    def track(self, work: asyncio.Future[Any]) -> None:
        """Remember a pass in flight, so a lost Lease can cancel it."""
        self.passes.add(work)
        work.add_done_callback(self.passes.discard)

    def leadership_lost(self, memo: kopf.Memo) -> None:
        """Stop acting now: cancel every pass in flight, then have the operator exit."""
        for work in list(self.passes):
            work.cancel()
        memo["leadership_lost"] = True
        # Kopf's own graceful shutdown, as for `kubectl delete pod`. (Its stop_flag would cost a
        # thread blocked for good on the flag: every flag kind but asyncio's is waited for in one.)
        os.kill(os.getpid(), signal.SIGTERM)
        # Should Kopf's own shutdown hang, the process goes anyway (the Lease is not ours any more).
        asyncio.get_running_loop().call_later(30.0, os._exit, 3)

    def network_lock(self, network: str) -> asyncio.Lock:
        lock = self.network_locks.get(network)
        if lock is None:
            lock = self.network_locks[network] = asyncio.Lock()
        return lock

    def drop_network_lock(self, network: str) -> None:
        """Forget the network's lock once no resource names it (and no pass holds it)."""
        lock = self.network_locks.get(network)
        if lock is not None and not lock.locked() and not self.owners.claims(network):
            del self.network_locks[network]


@dataclass
class ResourceState:
    """What the operator remembers about one resource between ticks (lost on restart, by design)."""

    sessions: SessionCache
    # The status as last written by us. The live body lags our own patches by a watch
    # event; deciding from a stale status could run a due iteration twice.
    written: NetworkStrategyStatus | None = None
    transient_failures: int = 0
    # The owner this resource last reported itself idle for (the condition and event are posted once).
    idle_for: str | None = None

    def effective_status(self, live: Mapping[str, Any]) -> NetworkStrategyStatus:
        return self.written if self.written is not None else NetworkStrategyStatus.read(live)


def state_of(memo: kopf.Memo) -> ResourceState:
    """The resource's state, kept in its Kopf memo."""
    state = memo.get("resource_state")
    if state is None:
        runtime: Runtime = memo["runtime"]
        sessions = SessionCache(runtime.pool, resync_interval=runtime.config.resync_interval)
        state = memo["resource_state"] = ResourceState(sessions=sessions)
    return state


def configure_kopf(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    # Kopf keeps a copy of what it handled in an annotation (for the deletion handler); a copy
    # of the user's own annotations and labels there could push a resource carrying many
    # past the API server's 256 KiB limit, and every patch, the finalizer's removal
    # included, would then be refused. Only the spec matters to us.
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX,
        key="last-handled-configuration",
        ignored_fields=["metadata.annotations", "metadata.labels"],
    )
    # Deletion waits for the running tick; poll often so deletes are prompt.
    settings.background.cancellation_polling = max(0.5, min(5.0, config.tick))
    # A status patch that fails past these backoffs ends Kopf's timer for good (see kube.py): be patient.
    settings.networking.error_backoffs = [1, 2, 4, 8, 15, 30] + [60] * 60
    # Kopf's own calls (patches, events) wait at most this long for a frozen API server.
    settings.networking.request_timeout = 30.0
    settings.networking.connect_timeout = 10.0
    settings.posting.level = logging.INFO
    # No CRD or namespace scanning: the chart's least-privilege RBAC grants neither, and with
    # the patient backoffs above a forbidden namespace list would stall start-up for an hour.
    settings.scanning.disabled = True


async def start(config: OperatorConfig) -> Runtime:
    """The runtime, with the probe and metrics server listening when `config.http_port` is set."""
    tracker = LivenessTracker(grace=config.liveness_grace)
    executor = ThreadPoolExecutor(max_workers=max(1, min(config.max_workers, 4)), thread_name_prefix="strategy-plan")
    runner = IterationRunner(config, SecretReader(), executor, clock=utcnow)
    metrics = Metrics(tracker.by_status, runner.result_cache_stats)
    health = None
    if config.http_port:
        health = HealthServer(tracker=tracker, metrics=metrics, port=config.http_port)
        await health.start()
    runtime = Runtime(
        config=config,
        runner=runner,
        semaphore=asyncio.Semaphore(config.max_workers),
        metrics=metrics,
        tracker=tracker,
        executor=executor,
        health=health,
        status_writer=StatusWriter(),
        pool=ClientPool(timeout=min(60.0, config.iteration_timeout)),
    )
    if health is not None:
        # A standby is ready too: a rolling update must be able to replace it.
        health.ready = True
    return runtime


async def stop(runtime: Runtime | None) -> None:
    if runtime is None:
        return
    if runtime.leader is not None:
        if runtime.leadership_task is not None:
            runtime.leadership_task.cancel()
        await runtime.leader.release()
    if runtime.health is not None:
        runtime.health.ready = False
        await runtime.health.stop()
    runtime.executor.shutdown(wait=False, cancel_futures=True)
    await runtime.pool.aclose()


def describe(config: OperatorConfig) -> str:
    namespaces = "all namespaces" if config.all_namespaces else "namespaces " + ", ".join(config.namespaces)
    scopes = ", ".join(str(s) for s in config.allowed_scopes)
    servers = ", ".join(config.allowed_servers) or config.default_server or "(none)"
    election = (
        f"; leader election via Lease {config.operator_namespace}/{config.leader_election_lease}"
        if config.leader_election
        else ""
    )
    return (
        f"{namespaces}; allowed servers {servers}{election}; minSleepInterval {config.min_sleep_interval}s; "
        f"maxWorkers {config.max_workers}; allowed scopes {scopes}; "
        f"default server {config.default_server or '(none)'}; tick {config.tick:g}s; "
        f"resync every {config.resync_interval:g}s; at most {config.max_tasks_created_per_iteration} tasks "
        "created per iteration"
    )
