"""The operator's long-lived objects: one `Runtime` per process, one `ResourceState` per resource.

`start()` builds them on the operator's event loop at Kopf start-up and `configure_kopf()`
sets Kopf's own settings; `stop()` undoes what `start()` did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kopf

from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.api import FINALIZER, GROUP
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.kube import SecretReader, StatusWriter
from strategy_operator.controller.liveness import LivenessTracker
from strategy_operator.controller.metrics import Metrics
from strategy_operator.controller.ownership import NetworkOwners
from strategy_operator.controller.probes import HealthServer
from strategy_operator.controller.reconcile import IterationRunner, SessionCache
from strategy_operator.controller.scheduling import utcnow

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
    written: dict[str, Any] | None = None
    transient_failures: int = 0
    # The owner this resource last reported itself idle for (the condition and event are posted once).
    idle_for: str | None = None

    def effective_status(self, live: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.written) if self.written is not None else dict(live)


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
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    # Deletion waits for the running tick; poll often so deletes are prompt.
    settings.background.cancellation_polling = max(0.5, min(5.0, config.tick))
    # A status patch that fails past these backoffs ends Kopf's timer for good (see kube.py): be patient.
    settings.networking.error_backoffs = [1, 2, 4, 8, 15, 30] + [60] * 60
    settings.posting.level = logging.INFO
    # No CRD or namespace scanning: the chart's least-privilege RBAC grants neither, and with
    # the patient backoffs above a forbidden namespace list would stall start-up for an hour.
    settings.scanning.disabled = True


async def start(config: OperatorConfig) -> Runtime:
    """The runtime, with the probe and metrics server listening when `config.http_port` is set."""
    tracker = LivenessTracker(grace=config.liveness_grace)
    metrics = Metrics(tracker.by_status)
    executor = ThreadPoolExecutor(max_workers=max(1, min(config.max_workers, 4)), thread_name_prefix="strategy-plan")
    health = None
    if config.http_port:
        health = HealthServer(tracker=tracker, metrics=metrics, port=config.http_port)
        await health.start()
    runtime = Runtime(
        config=config,
        runner=IterationRunner(config, SecretReader(), executor, clock=utcnow),
        semaphore=asyncio.Semaphore(config.max_workers),
        metrics=metrics,
        tracker=tracker,
        executor=executor,
        health=health,
        status_writer=StatusWriter(),
        pool=ClientPool(timeout=min(60.0, config.iteration_timeout)),
    )
    if health is not None:
        health.ready = True
    return runtime


async def stop(runtime: Runtime | None) -> None:
    if runtime is None:
        return
    if runtime.health is not None:
        runtime.health.ready = False
        await runtime.health.stop()
    runtime.executor.shutdown(wait=False, cancel_futures=True)
    await runtime.pool.aclose()


def describe(config: OperatorConfig) -> str:
    namespaces = "all namespaces" if config.all_namespaces else "namespaces " + ", ".join(config.namespaces)
    scopes = ", ".join(str(s) for s in config.allowed_scopes)
    return (
        f"{namespaces}; minSleepInterval {config.min_sleep_interval}s; maxWorkers {config.max_workers}; "
        f"allowed scopes {scopes}; default server {config.default_server or '(none)'}; tick {config.tick:g}s; "
        f"resync every {config.resync_interval:g}s; at most {config.max_tasks_created_per_iteration} tasks "
        "created per iteration"
    )
