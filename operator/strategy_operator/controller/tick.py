"""What one timer tick, and one watch event, do for one NetworkStrategy.

A tick asks `scheduling.decide` whether the resource is due, runs one pass
(`reconcile.IterationRunner.run`) under the network's lock and the operator's worker
semaphore, records metrics, and writes the status and events. Watch events only feed the
liveness tracker. Kopf stays in `register.py`, apart from posting events. With leader
election a replica that is not (or no longer) the leader does nothing here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller import outcomes
from strategy_operator.controller.kube import ResourceLister, StatusWriteRefused, StatusWriteUnanswered
from strategy_operator.controller.outcomes import PassOutcome, ResourceView
from strategy_operator.controller.ownership import Claim
from strategy_operator.controller.runtime import ResourceState, Runtime
from strategy_operator.controller.scheduling import Decision, decide, due_at, is_woken, mode_of, utcnow
from strategy_operator.text import bound_head, scrub

logger = logging.getLogger(__name__)

Log = logging.Logger | logging.LoggerAdapter[Any]


def observe_for_liveness(
    runtime: Runtime,
    uid: str,
    ref: str,
    spec: Mapping[str, Any],
    status: NetworkStrategyStatus,
    annotations: Mapping[str, str],
    deleting: bool,
) -> None:
    mode = mode_of(spec)
    woken = is_woken(annotations, status)
    owner = runtime.owners.owner(str(spec.get("network")))
    idle = owner is not None and owner.uid != uid
    recorded = status.status.value if status.status is not None else "awake"
    state_name = "disabled" if mode == "disabled" else "idle" if idle else recorded
    active = not deleting and not idle and mode != "disabled" and (state_name != "error" or woken)
    due = None if woken else due_at(status, runtime.runner.interval_of(spec))
    due_in = None if due is None else (due - utcnow()).total_seconds()
    runtime.tracker.observe(uid, ref, status=state_name, active=active, due_in=due_in)


async def watched(
    runtime: Runtime,
    state: ResourceState,
    event_type: str | None,
    uid: str,
    ref: str,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    meta: Mapping[str, Any],
    annotations: Mapping[str, str],
) -> None:
    if event_type == "DELETED":
        runtime.tracker.forget(uid)
        runtime.owners.forget(uid)
        runtime.drop_network_lock(str(spec.get("network")))
        await state.sessions.aclose()
        return
    if mode_of(spec) == "disabled":
        runtime.owners.forget(uid)  # a disabled resource does nothing, so it owns nothing
    else:
        runtime.owners.claim(claim_of(uid, ref, spec, meta))
    current = state.effective_status(status)
    deleting = bool(meta.get("deletionTimestamp"))
    observe_for_liveness(runtime, uid, ref, spec, current, annotations, deleting=deleting)


def claim_of(uid: str, ref: str, spec: Mapping[str, Any], meta: Mapping[str, Any]) -> Claim:
    return Claim(str(meta.get("creationTimestamp") or ""), ref, uid, str(spec.get("network")))


async def _claims(runtime: Runtime) -> list[Claim]:
    """Every enabled NetworkStrategy of the watched namespaces, as ownership claims (one LIST each)."""
    items = await ResourceLister(runtime.config.namespaces).list()
    return [
        claim_of(
            item["metadata"]["uid"],
            f"{item['metadata']['namespace']}/{item['metadata']['name']}",
            item.get("spec") or {},
            item["metadata"],
        )
        for item in items
        if mode_of(item.get("spec") or {}) != "disabled"
    ]


async def _owner_elsewhere(runtime: Runtime, uid: str, spec: Mapping[str, Any], log: Log) -> Claim | None | bool:
    """The network's owner when it is another resource; None when this one owns it; False: cannot tell yet."""
    try:
        await runtime.owners.prime(lambda: _claims(runtime))
    except Exception as exc:  # noqa: BLE001 - the Kubernetes API's many failures: try at the next tick
        log.warning(
            "cannot list NetworkStrategies to find each network's owner, retrying: %s",
            bound_head(scrub(f"{type(exc).__name__}: {exc}")),
        )
        return False
    owner = runtime.owners.owner(str(spec.get("network")))
    return owner if owner is not None and owner.uid != uid else None


async def _report_idle(
    runtime: Runtime,
    state: ResourceState,
    owner: Claim,
    *,
    live: Mapping[str, Any],
    body: kopf.Body,
    resource: ResourceView,
    log: Log,
) -> None:
    """Say once (per owner) that this resource waits: it names a network another one runs."""
    message = (
        f"network {owner.network} is run by {owner}, which was created first; this NetworkStrategy "
        "stays idle until that one is deleted (keep to one NetworkStrategy per network)"
    )
    outcome = outcomes.idle(resource, resource.status, now=utcnow(), message=message)
    log.warning("%s", message)
    await write_outcome(runtime, state, outcome, live=live, body=body, resource=resource, log=log)
    state.idle_for = owner.uid


async def _first_of(work: asyncio.Future[PassOutcome], stopped: Any) -> PassOutcome | None:
    """The pass's outcome, or None when the resource's timer is stopped first (deletion, exit)."""

    async def wait_stopped() -> None:
        await stopped.wait()

    stopper = asyncio.ensure_future(wait_stopped())
    try:
        waiting: set[asyncio.Future[Any]] = {work, stopper}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
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
    metrics.tasks.labels(change="actioned").inc(outcome.tasks.actioned)
    metrics.tasks.labels(change="created").inc(outcome.tasks.created)
    metrics.tasks.labels(change="cancelled").inc(outcome.tasks.cancelled)
    if outcome.error_type:
        metrics.api_errors.labels(type=outcome.error_type).inc()
    sent = runtime.pool.requests_sent()
    if sent > runtime.requests_counted:
        metrics.api_requests.inc(sent - runtime.requests_counted)
    runtime.requests_counted = sent


async def write_outcome(
    runtime: Runtime,
    state: ResourceState,
    outcome: PassOutcome,
    *,
    live: Mapping[str, Any],
    body: kopf.Body,
    resource: ResourceView,
    log: Log,
) -> None:
    """Write the pass's status (all of it) and post its events."""
    new_status = resource.status.merged(outcome.status_change)
    document = new_status.document()
    # The whole status, not only what changed, so a write that follows a refused one
    # (or a lost one) leaves the stored status complete; keys we dropped are deleted.
    payload: dict[str, Any] = {key: None for key in (*live, *resource.status.document()) if key not in document}
    payload.update(document)
    # Remembered even when the write is refused: the schedule must not re-run a finished pass.
    state.written = new_status
    log.debug("status of %s: %r", resource.ref, payload)
    try:
        await runtime.status_writer.write(resource.namespace, resource.name, payload)
    except StatusWriteRefused as exc:
        # Unanswered writes feed /healthz: with the API server frozen no pass can record anything.
        if isinstance(exc, StatusWriteUnanswered):
            runtime.tracker.kube_unanswered()
        else:
            runtime.tracker.kube_answered()
        message = scrub(f"{exc}; the operator keeps iterating and writes the whole status again next time")
        log.error("%s", message)
        kopf.warn(body, reason="StatusWriteRefused", message=bound_head(message))
    else:
        runtime.tracker.kube_answered()
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


async def _run_pass(
    runtime: Runtime, state: ResourceState, resource: ResourceView, mode_now: Callable[[], str], stopped: Any
) -> PassOutcome | None:
    """One pass under the network's lock and a worker slot; None when the timer stopped first
    or the leadership was lost."""
    async with runtime.network_lock(str(resource.spec.get("network"))), runtime.semaphore:
        if stopped or not runtime.acting:
            return None
        runtime.tracker.progressed()
        runtime.metrics.iterations_in_flight.inc()
        logger.info("iteration of %s started", resource.ref)
        try:
            work = asyncio.ensure_future(
                runtime.runner.run(
                    resource, state.sessions, transient_failures=state.transient_failures, mode_now=mode_now
                )
            )
            runtime.track(work)
            return await _first_of(work, stopped)
        except asyncio.CancelledError:
            if runtime.acting:
                raise
            return None  # cancelled because the leadership was lost
        finally:
            runtime.metrics.iterations_in_flight.dec()
            runtime.tracker.progressed()
            logger.info("iteration of %s finished", resource.ref)


def _log_outcome(outcome: PassOutcome, log: Log) -> None:
    if outcome.result == "error":
        log.error("%s", outcome.log)
    elif outcome.result == "transient":
        log.warning("%s", outcome.log)
    elif outcome.log:
        log.info("%s", outcome.log)


async def tick(
    runtime: Runtime,
    state: ResourceState,
    *,
    body: kopf.Body,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    meta: Mapping[str, Any],
    annotations: Mapping[str, str],
    uid: str,
    namespace: str,
    name: str,
    log: Log,
    stopped: Any,
) -> None:
    """One timer tick for one resource. `spec` is Kopf's live view, so a pass sees `mode` change."""
    if not runtime.acting:
        return
    runtime.tracker.ticked(uid)
    if meta.get("deletionTimestamp"):
        return
    current = state.effective_status(status)
    generation = meta.get("generation")
    resource = ResourceView(namespace, name, generation, dict(spec), current, dict(annotations))
    decision = decide(spec, current, annotations, generation, runtime.runner.interval_of(spec), utcnow())
    if decision is Decision.skip:
        return
    if decision is Decision.report_disabled:
        outcome = outcomes.disabled(resource, current, now=utcnow())
        await write_outcome(runtime, state, outcome, live=status, body=body, resource=resource, log=log)
        kopf.event(body, type="Normal", reason="Disabled", message="spec.mode is disabled: iterations stopped")
        return
    owner = await _owner_elsewhere(runtime, uid, spec, log)
    if owner is False:
        return
    if isinstance(owner, Claim):
        if state.idle_for != owner.uid:
            await _report_idle(runtime, state, owner, live=status, body=body, resource=resource, log=log)
        return
    state.idle_for = None
    if decision is Decision.run_woken:
        # Start afresh: a full re-read of the network, and a new login that picks up
        # credentials or scopes fixed since the error.
        await state.sessions.reset()
    started = time.monotonic()
    passed = await _run_pass(runtime, state, resource, lambda: mode_of(spec), stopped)
    if passed is None or not runtime.acting:
        log.info(
            "iteration abandoned: the resource is being deleted, the operator is stopping or it lost the leadership"
        )
        return
    state.transient_failures = state.transient_failures + 1 if passed.result == "transient" else 0
    if passed.result == "error":
        await state.sessions.aclose()
    _record(runtime, state, passed, time.monotonic() - started)
    _log_outcome(passed, log)
    await write_outcome(runtime, state, passed, live=status, body=body, resource=resource, log=log)
    observe_for_liveness(runtime, uid, resource.ref, spec, state.effective_status(status), annotations, deleting=False)
