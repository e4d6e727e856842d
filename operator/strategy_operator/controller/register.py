"""Kopf handlers for NetworkStrategy: thin glue between Kopf and `iteration`.

Each resource gets one async timer that ticks every `--tick` seconds and iterates only when
the resource's status says it is due (the clock lives in the status, so restarts neither
reset nor skip it). Iterations across all resources share a semaphore of `--max-workers`.
Only the status subresource is ever written, so a status write cannot revert a spec edit.

Handlers are registered by `register(registry, config)` rather than at import time because
the timer's tick is an operator setting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kopf

from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import AlchemiscaleError, TransientError
from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.api import FINALIZER, GROUP, PLURAL, VERSION
from strategy_operator.controller import conditions
from strategy_operator.controller.config import OperatorSettings
from strategy_operator.controller.liveness import LivenessTracker
from strategy_operator.controller.metrics import Metrics
from strategy_operator.controller.ownership import Claim, NetworkOwners
from strategy_operator.controller.probes import HealthServer
from strategy_operator.controller.reconcile import (
    Event,
    IterationError,
    IterationRunner,
    PassOutcome,
    ResourceView,
    SessionCache,
    check_scope,
    choose_server,
    merged_status,
    parse_spec,
    validate_status,
)
from strategy_operator.controller.scheduling import due_at, is_due, is_woken, utcnow
from strategy_operator.controller.secrets import CredentialsSecretError, CredentialsSecretUnavailable, SecretReader
from strategy_operator.controller.status import StatusWriter, StatusWriteRefused
from strategy_operator.text import bound_head, scrub

ANNOTATION_PREFIX = GROUP

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Operator-wide objects, created at start-up on the operator's event loop."""

    config: OperatorSettings
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


def _state(memo: kopf.Memo) -> ResourceState:
    state = memo.get("resource_state")
    if state is None:
        runtime: Runtime = memo["runtime"]
        sessions = SessionCache(runtime.pool, resync_interval=runtime.config.resync_interval)
        state = memo["resource_state"] = ResourceState(sessions=sessions)
    return state


def _claim(uid: str, namespace: str, name: str, spec: Mapping[str, Any], meta: Mapping[str, Any]) -> Claim:
    return Claim(str(meta.get("creationTimestamp") or ""), f"{namespace}/{name}", uid, str(spec.get("network")))


def _lister(config: OperatorSettings):
    """Every NetworkStrategy in the watched namespaces, as claims (one LIST per namespace)."""

    def list_sync() -> list[Claim]:
        from kubernetes import client, config as kube_config

        try:
            kube_config.load_incluster_config()
        except kube_config.ConfigException:
            kube_config.load_kube_config()
        api = client.CustomObjectsApi()
        if config.all_namespaces:
            pages = [api.list_cluster_custom_object(GROUP, VERSION, PLURAL, _request_timeout=30)]
        else:
            pages = [
                api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _request_timeout=30)
                for namespace in config.namespaces
            ]
        return [
            _claim(
                item["metadata"]["uid"],
                item["metadata"]["namespace"],
                item["metadata"]["name"],
                item.get("spec") or {},
                item["metadata"],
            )
            for page in pages
            for item in page.get("items", [])
            if (item.get("spec") or {}).get("mode") != "disabled"
        ]

    async def lister() -> list[Claim]:
        return await asyncio.to_thread(list_sync)

    return lister


def _mode(spec: Mapping[str, Any]) -> str:
    return str(spec.get("mode") or "partial")


def _disabled_reported(status: Mapping[str, Any], generation: int | None) -> bool:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("reason") == "Disabled" and status.get("observedGeneration") == generation
    return False


def _observe_for_liveness(
    runtime: Runtime,
    uid: str,
    ref: str,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    annotations: Mapping[str, str],
    deleting: bool,
) -> None:
    mode = _mode(spec)
    woken = is_woken(annotations, status)
    owner = runtime.owners.owner(str(spec.get("network")))
    idle = owner is not None and owner.uid != uid
    state_name = "disabled" if mode == "disabled" else "idle" if idle else str(status.get("status") or "awake")
    active = not deleting and not idle and mode != "disabled" and (state_name != "error" or woken)
    due = None if woken else due_at(status, runtime.runner.interval_of(spec))
    due_in = None if due is None else (due - utcnow()).total_seconds()
    runtime.tracker.observe(uid, ref, status=state_name, active=active, due_in=due_in)


async def _first_of(work: asyncio.Future[PassOutcome], stopped: Any) -> PassOutcome | None:
    """The pass's outcome, or None when the resource's timer is stopped first (deletion, exit)."""

    async def wait_stopped() -> None:
        await stopped.wait()

    stopper = asyncio.ensure_future(wait_stopped())
    try:
        done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if work in done:
        return work.result()
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    return None


def _record(runtime: Runtime, state: ResourceState, outcome: PassOutcome, seconds: float) -> None:
    metrics = runtime.metrics
    if outcome.result != "disabled":
        metrics.iterations.labels(result=outcome.result).inc()
        metrics.iteration_duration.observe(seconds)
    actioned, created, cancelled = outcome.tasks
    metrics.tasks.labels(change="actioned").inc(actioned)
    metrics.tasks.labels(change="created").inc(created)
    metrics.tasks.labels(change="cancelled").inc(cancelled)
    if outcome.error_type:
        metrics.api_errors.labels(type=outcome.error_type).inc()
    sent = runtime.pool.requests_sent()
    if sent > runtime.requests_counted:
        metrics.api_requests.inc(sent - runtime.requests_counted)
    runtime.requests_counted = sent


async def _apply(
    outcome: PassOutcome,
    *,
    runtime: Runtime,
    state: ResourceState,
    current: Mapping[str, Any],
    live: Mapping[str, Any],
    body: kopf.Body,
    namespace: str,
    name: str,
    log: logging.Logger | logging.LoggerAdapter,
) -> None:
    new_status = merged_status(current, outcome.status)
    try:
        validate_status(new_status)
    except ValueError as exc:
        log.error("not writing a status the CRD schema would refuse: %s", exc)
        return
    # The whole status, not only what changed, so a write that follows a refused one
    # (or a lost one) leaves the stored status complete; keys we dropped are deleted.
    payload: dict[str, Any] = {key: None for key in (*live, *current) if key not in new_status}
    payload.update(new_status)
    # Remembered even when the write is refused: the schedule must not re-run a finished pass.
    state.written = new_status
    log.debug("status of %s/%s: %r", namespace, name, payload)
    try:
        await runtime.status_writer.write(namespace, name, payload)
    except StatusWriteRefused as exc:
        message = scrub(f"{exc}; the operator keeps iterating and writes the whole status again next time")
        log.error("%s", message)
        kopf.warn(body, reason="StatusWriteRefused", message=bound_head(message))
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(registry: kopf.OperatorRegistry, config: OperatorSettings) -> None:
    """Register every handler of the operator in `registry`, configured by `config`."""
    tick = config.tick

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # The kubernetes client's own config loading: in-cluster service account or KUBECONFIG.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="startup", registry=registry)
    async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
        )
        # Deletion waits for the running tick; poll often so deletes are prompt.
        settings.background.cancellation_polling = max(0.5, min(5.0, tick))
        # A status patch that fails past these backoffs ends Kopf's timer for good (see status.py): be patient.
        settings.networking.error_backoffs = [1, 2, 4, 8, 15, 30] + [60] * 60
        settings.posting.level = logging.INFO
        # No CRD or namespace scanning: the chart's least-privilege RBAC grants neither, and with
        # the patient backoffs above a forbidden namespace list would stall start-up for an hour.
        settings.scanning.disabled = True
        tracker = LivenessTracker(grace=config.liveness_grace)
        metrics = Metrics(tracker.by_status)
        executor = ThreadPoolExecutor(
            max_workers=max(1, min(config.max_workers, 4)), thread_name_prefix="strategy-plan"
        )
        health = None
        if config.http_port:
            health = HealthServer(tracker=tracker, metrics=metrics, port=config.http_port)
            await health.start()
        memo["runtime"] = Runtime(
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
        logger.info("operator started: %s", _describe(config))

    @kopf.on.cleanup(id="cleanup", registry=registry)
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        runtime: Runtime | None = memo.get("runtime")
        if runtime is None:
            return
        if runtime.health is not None:
            runtime.health.ready = False
            await runtime.health.stop()
        runtime.executor.shutdown(wait=False, cancel_futures=True)
        await runtime.pool.aclose()

    @kopf.on.event(GROUP, VERSION, PLURAL, id="watch", registry=registry)
    async def watched(
        event: Mapping[str, Any],
        spec: Mapping[str, Any],
        status: Mapping[str, Any],
        meta: Mapping[str, Any],
        annotations: Mapping[str, str],
        uid: str,
        name: str,
        namespace: str,
        memo: kopf.Memo,
        **_: Any,
    ) -> None:
        runtime: Runtime = memo["runtime"]
        if event.get("type") == "DELETED":
            runtime.tracker.forget(uid)
            runtime.owners.forget(uid)
            runtime.drop_network_lock(str(spec.get("network")))
            await _state(memo).sessions.aclose()
            return
        if _mode(spec) == "disabled":
            runtime.owners.forget(uid)  # a disabled resource does nothing, so it owns nothing
        else:
            runtime.owners.claim(_claim(uid, namespace, name, spec, meta))
        current = _state(memo).effective_status(status)
        _observe_for_liveness(
            runtime,
            uid,
            f"{namespace}/{name}",
            spec,
            current,
            annotations,
            deleting=bool(meta.get("deletionTimestamp")),
        )

    @kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        id="iterate",
        registry=registry,
        interval=tick,
        initial_delay=lambda **_: random.uniform(0, min(tick, 5.0)),
    )
    async def iterate(
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        meta: kopf.Meta,
        annotations: kopf.Annotations,
        uid: str,
        name: str,
        namespace: str,
        memo: kopf.Memo,
        logger: logging.LoggerAdapter,
        stopped: Any,
        **_: Any,
    ) -> None:
        runtime: Runtime = memo["runtime"]
        state = _state(memo)
        runtime.tracker.ticked(uid)
        if meta.get("deletionTimestamp"):
            return
        current = state.effective_status(status)
        generation = meta.get("generation")
        resource = ResourceView(namespace, name, generation, dict(spec), current, dict(annotations))
        runner = runtime.runner

        if _mode(spec) == "disabled":
            if not _disabled_reported(current, generation):
                outcome = runner.disabled(resource, utcnow(), current)
                await _apply(
                    outcome,
                    runtime=runtime,
                    state=state,
                    current=current,
                    live=status,
                    body=body,
                    namespace=namespace,
                    name=name,
                    log=logger,
                )
                kopf.event(body, type="Normal", reason="Disabled", message="spec.mode is disabled: iterations stopped")
            return
        woken = is_woken(annotations, current)
        if current.get("status") == "error" and not woken:
            return
        if not woken and not is_due(current, runner.interval_of(spec), utcnow()):
            return

        try:
            await runtime.owners.prime(_lister(runtime.config))
        except Exception as exc:  # noqa: BLE001 - the Kubernetes API's many failures: try next tick
            logger.warning(
                "cannot list NetworkStrategies to find each network's owner, retrying: %s",
                bound_head(scrub(f"{type(exc).__name__}: {exc}")),
            )
            return
        owner = runtime.owners.owner(str(spec.get("network")))
        if owner is not None and owner.uid != uid:
            if state.idle_for != owner.uid:
                await _report_idle(
                    owner,
                    runtime=runtime,
                    state=state,
                    current=current,
                    live=status,
                    body=body,
                    namespace=namespace,
                    name=name,
                    generation=generation,
                    log=logger,
                )
            return
        state.idle_for = None

        if woken:
            # Start afresh: a full re-read of the network, and a new login that picks up
            # credentials or scopes fixed since the error.
            await state.sessions.reset()
        async with runtime.network_lock(str(spec.get("network"))), runtime.semaphore:
            if stopped:
                return
            runtime.tracker.progressed()
            runtime.metrics.iterations_in_flight.inc()
            started = time.monotonic()
            logging.getLogger(__name__).info("iteration of %s/%s started", namespace, name)
            try:
                work = asyncio.ensure_future(
                    runner.run(
                        resource,
                        state.sessions,
                        transient_failures=state.transient_failures,
                        mode_now=lambda: _mode(spec),
                    )
                )
                outcome = await _first_of(work, stopped)
            finally:
                runtime.metrics.iterations_in_flight.dec()
                runtime.tracker.progressed()
                logging.getLogger(__name__).info("iteration of %s/%s finished", namespace, name)
        if outcome is None:
            logger.info("iteration abandoned: the resource is being deleted or the operator is stopping")
            return
        state.transient_failures = state.transient_failures + 1 if outcome.result == "transient" else 0
        if outcome.result == "error":
            await state.sessions.aclose()
        _record(runtime, state, outcome, time.monotonic() - started)
        if outcome.result == "error":
            logger.error("%s", outcome.log)
        elif outcome.result == "transient":
            logger.warning("%s", outcome.log)
        elif outcome.log:
            logger.info("%s", outcome.log)
        await _apply(
            outcome,
            runtime=runtime,
            state=state,
            current=current,
            live=status,
            body=body,
            namespace=namespace,
            name=name,
            log=logger,
        )
        _observe_for_liveness(
            runtime, uid, f"{namespace}/{name}", spec, state.effective_status(status), annotations, deleting=False
        )

    @kopf.on.delete(
        GROUP,
        VERSION,
        PLURAL,
        id="cancel-tasks-on-delete",
        registry=registry,
        when=lambda spec, **_: bool(spec.get("cancelTasksOnDelete")),
        retries=5,
        backoff=max(1.0, tick),
    )
    async def cancel_tasks_on_delete(
        body: kopf.Body,
        spec: kopf.Spec,
        namespace: str,
        memo: kopf.Memo,
        logger: logging.LoggerAdapter,
        retry: int,
        **_: Any,
    ) -> None:
        runtime: Runtime = memo["runtime"]
        await _state(memo).sessions.aclose()
        try:
            cancelled, network = await _cancel_actioned_tasks(runtime, spec, namespace)
        except (TransientError, CredentialsSecretUnavailable) as exc:
            what = "the Kubernetes API" if isinstance(exc, CredentialsSecretUnavailable) else "alchemiscale"
            if retry >= 4:
                message = f"could not cancel the network's actioned tasks, {what} unreachable: {exc}"
                logger.warning(message)
                kopf.warn(body, reason="CancelOnDeleteFailed", message=bound_head(message))
                return
            raise kopf.TemporaryError(f"{what} unreachable, retrying: {exc}", delay=max(1.0, tick)) from None
        except (IterationError, AlchemiscaleError, CredentialsSecretError) as exc:
            message = bound_head(scrub(f"tasks were not cancelled: {type(exc).__name__}: {exc}"))
            logger.warning(message)
            kopf.warn(body, reason="CancelOnDeleteFailed", message=message)
            return
        message = f"cancelled {cancelled} task(s) actioned on the TaskHub of {network}"
        logger.info(message)
        kopf.info(body, reason="TasksCancelled", message=message)


async def _report_idle(
    owner: Claim,
    *,
    runtime: Runtime,
    state: ResourceState,
    current: Mapping[str, Any],
    live: Mapping[str, Any],
    body: kopf.Body,
    namespace: str,
    name: str,
    generation: int | None,
    log: logging.Logger | logging.LoggerAdapter,
) -> None:
    """Say once (per owner) that this resource waits: it names a network another one runs."""
    message = (
        f"network {owner.network} is run by {owner}, which was created first; this NetworkStrategy "
        "stays idle until that one is deleted (keep to one NetworkStrategy per network)"
    )
    fields: dict[str, Any] = {"observedGeneration": generation, "nextIteration": None}
    fields["conditions"] = conditions.merge(
        current.get("conditions"), conditions.idle(message), now=utcnow(), generation=generation
    )
    outcome = PassOutcome("idle", fields, [Event("Warning", "NetworkOwnedElsewhere", message)], log=message)
    log.warning("%s", message)
    await _apply(
        outcome,
        runtime=runtime,
        state=state,
        current=current,
        live=live,
        body=body,
        namespace=namespace,
        name=name,
        log=log,
    )
    state.idle_for = owner.uid


async def _cancel_actioned_tasks(runtime: Runtime, raw_spec: Mapping[str, Any], namespace: str) -> tuple[int, str]:
    """Un-action every task actioned on the network's TaskHub (what the hub actions, whoever actioned it)."""
    config = runtime.config
    spec = parse_spec(raw_spec)
    check_scope(spec.network, config)
    choice = choose_server(spec, namespace, config)
    credentials = await runtime.runner.secrets.read(choice.secret_namespace, choice.secret_name)
    holder = object()
    client = await runtime.pool.acquire(
        holder, choice.url, Credentials(credentials.identifier, credentials.key), config.ca_bundle or True
    )
    try:
        actioned = await client.network_actioned_tasks(spec.network)
        answer = await client.cancel_tasks(spec.network, actioned) if actioned else []
    finally:
        await runtime.pool.release(holder)
    return sum(1 for task in answer if task is not None), spec.network


def _describe(config: OperatorSettings) -> str:
    namespaces = "all namespaces" if config.all_namespaces else "namespaces " + ", ".join(config.namespaces)
    scopes = ", ".join(str(s) for s in config.allowed_scopes)
    return (
        f"{namespaces}; minSleepInterval {config.min_sleep_interval}s; maxWorkers {config.max_workers}; "
        f"allowed scopes {scopes}; default server {config.default_server or '(none)'}; tick {config.tick:g}s; "
        f"resync every {config.resync_interval:g}s; at most {config.max_tasks_created_per_iteration} "
        "tasks created per iteration"
    )
