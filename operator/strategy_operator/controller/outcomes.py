"""What one pass reports: the status change (a typed `NetworkStrategyStatus`), events, a log line.

Each builder here is one situation a pass ends in (iterated, unchanged, transient failure,
error, disabled, idle) and says it the same way in status fields, conditions and events.
"""

from __future__ import annotations

import traceback as tracebacks
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from strategy_operator.alchemiscale.answers import ServerBusy, UnexpectedAnswer
from strategy_operator.alchemiscale.errors import AlchemiscaleError, OutcomeUnknown
from strategy_operator.alchemiscale.execution import ExecutionReport
from strategy_operator.api.v1alpha1 import (
    ExceptionInfo,
    IterationSummary,
    NetworkStrategyStatus,
    NetworkTaskCounts,
    Status,
)
from strategy_operator.controller import conditions
from strategy_operator.controller.credentials_policy import CredentialsPolicyError
from strategy_operator.controller.resolve import IterationError
from strategy_operator.controller.scheduling import format_time, transient_backoff
from strategy_operator.controller.secrets import CredentialsSecretError, CredentialsSecretUnavailable
from strategy_operator.engine import Plan
from strategy_operator.text import EXCEPTION_MESSAGE_MAX_LENGTH, TRACEBACK_MAX_LENGTH, bound_head, bound_tail, scrub


@dataclass(frozen=True)
class ResourceView:
    """What one pass needs to know about the resource (the status is the operator's latest)."""

    namespace: str
    name: str
    generation: int | None
    spec: Mapping[str, Any]
    status: NetworkStrategyStatus
    annotations: Mapping[str, str]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass(frozen=True)
class TaskChanges:
    """What a pass did to tasks: existing ones actioned, new ones created (and actioned), un-actioned."""

    actioned: int = 0
    created: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, report: ExecutionReport) -> TaskChanges:
        created = {task for tasks in report.created_tasks.values() for task in tasks}
        existing = sum(1 for task in report.actioned_tasks if task not in created)
        return cls(existing, report.created, report.cancelled)

    def __bool__(self) -> bool:
        return bool(self.actioned or self.created or self.cancelled)


@dataclass
class PassOutcome:
    """The result of one pass: a metric label, the status change to write, events to post."""

    result: str  # iterated | unchanged | error | transient | disabled | idle
    status_change: NetworkStrategyStatus
    events: list[Event] = field(default_factory=list)
    log: str = ""
    tasks: TaskChanges = TaskChanges()
    error_type: str | None = None  # the alchemiscale error behind an error or transient outcome


def _with_conditions(
    change: NetworkStrategyStatus,
    previous: NetworkStrategyStatus,
    new: list[conditions.NewCondition],
    resource: ResourceView,
    now: datetime,
) -> NetworkStrategyStatus:
    merged = conditions.merge(previous.conditions, new, now=now, generation=resource.generation)
    return change.with_changes(conditions=merged)


def unchanged_dormant(
    resource: ResourceView,
    previous: NetworkStrategyStatus,
    base: NetworkStrategyStatus,
    *,
    now: datetime,
    next_due: datetime,
    result_count: int,
    task_counts: Mapping[str, int],
) -> PassOutcome:
    """A dormant strategy's check found no new results."""
    change = base.with_changes(
        next_iteration=next_due, exception=None, traceback=None, task_counts=NetworkTaskCounts(**task_counts)
    )
    message = f"no new results ({result_count} in total); next check at {format_time(next_due)}"
    change = _with_conditions(change, previous, conditions.dormant(message), resource, now)
    return PassOutcome("unchanged", change, log=f"dormant, still {result_count} results")


def unchanged(base: NetworkStrategyStatus, *, next_due: datetime, task_counts: Mapping[str, int]) -> PassOutcome:
    """The engine found nothing to do (dormant, no new results)."""
    change = base.with_changes(next_iteration=next_due, task_counts=NetworkTaskCounts(**task_counts))
    return PassOutcome("unchanged", change, log="dormant, no new results")


def iterated(
    resource: ResourceView,
    previous: NetworkStrategyStatus,
    base: NetworkStrategyStatus,
    plan: Plan,
    tasks: TaskChanges,
    *,
    now: datetime,
    next_due: datetime,
    task_counts: Mapping[str, int],
    creation_cap: int | None,
) -> PassOutcome:
    """An iteration ran: the engine's plan was applied."""
    summary = plan.summary
    iterations = (previous.iterations or 0) + 1
    text = (
        f"{summary.transformations_weighted} transformations weighted, "
        f"{summary.transformations_finished} finished, {summary.transformations_blocked} blocked "
        f"by errored tasks; tasks actioned {tasks.actioned}, created {tasks.created}, cancelled {tasks.cancelled}"
    )
    if summary.tasks_deferred:
        text += (
            f"; {summary.tasks_deferred} more task(s) deferred to the next iteration (at most "
            f"{creation_cap} created per iteration)"
        )
    change = base.with_changes(
        status=Status(plan.status),
        iterations=iterations,
        last_iteration=now,
        last_iteration_result_count=plan.result_count,
        exception=None,
        traceback=None,
        next_iteration=next_due,
        task_counts=NetworkTaskCounts(**task_counts),
        last_iteration_summary=IterationSummary(
            transformations_weighted=summary.transformations_weighted,
            transformations_finished=summary.transformations_finished,
            transformations_blocked=summary.transformations_blocked,
            tasks_actioned=tasks.actioned,
            tasks_created=tasks.created,
            tasks_cancelled=tasks.cancelled,
            tasks_deferred=summary.tasks_deferred,
        ),
    )
    events: list[Event] = []
    if plan.status == Status.dormant.value:
        message = f"iteration {iterations}: every transformation is finished; the strategy is dormant"
        if tasks.cancelled:
            message += f" (full mode: cancelled all {tasks.cancelled} tasks actioned on the network's hub)"
        new_conditions = conditions.dormant(message)
        if previous.status is not Status.dormant:
            events.append(Event("Normal", "Dormant", message))
    else:
        new_conditions = conditions.iterated(f"iteration {iterations}: {text}")
        if tasks:
            events.append(Event("Normal", "Iterated", f"iteration {iterations}: {text}"))
    change = _with_conditions(change, previous, new_conditions, resource, now)
    return PassOutcome("iterated", change, events, log=f"iteration {iterations}: {text}", tasks=tasks)


def _transient_reason(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, CredentialsSecretUnavailable):
        return "AlchemiscaleUnreachable", "the Kubernetes API is unreachable"
    if isinstance(exc, OutcomeUnknown) and exc.status_code is not None:
        # Task creation answered 429/5xx: not repeated; the next snapshot shows what exists.
        reason = "AlchemiscaleBusy" if exc.status_code == 429 else "AlchemiscaleUnreachable"
        return reason, (
            f"alchemiscale (or a proxy in front of it) answered task creation {exc.status_code}; "
            "the tasks may or may not exist, and the next pass creates only what is missing"
        )
    if isinstance(exc, ServerBusy) and exc.status_code == 429:
        return "AlchemiscaleBusy", "alchemiscale asks for fewer requests (429)"
    if isinstance(exc, UnexpectedAnswer):
        return "UnexpectedAnswer", "alchemiscale (or a proxy in front of it) answered unexpectedly"
    return "AlchemiscaleUnreachable", "alchemiscale is unreachable"


def transient(
    resource: ResourceView,
    previous: NetworkStrategyStatus,
    base: NetworkStrategyStatus,
    exc: BaseException,
    *,
    now: datetime,
    interval: float,
    first_backoff: float,
    failures_before: int,
    secrets_seen: list[str],
) -> PassOutcome:
    """A failure that passes (unreachable, busy, odd answers): retried with backoff, nothing lost."""
    failures = failures_before + 1
    delay = transient_backoff(failures, interval, first=first_backoff)
    asked = getattr(exc, "retry_after", None)
    if asked is not None:
        delay = max(delay, asked)  # the server's (or proxy's) Retry-After
    retry_at = now + timedelta(seconds=delay)
    message = bound_head(scrub(f"{type(exc).__name__}: {exc}", secrets_seen))
    reason, what = _transient_reason(exc)
    waited = f"the server asked to wait {asked:g} s, " if asked is not None else ""
    text = f"{what} ({failures} attempt(s) in a row); {waited}retrying at {format_time(retry_at)}: {message}"
    change = base.with_changes(next_iteration=retry_at)
    change = _with_conditions(change, previous, conditions.unreachable(text, reason), resource, now)
    events = [Event("Warning", reason, text)] if failures == 1 else []
    return PassOutcome("transient", change, events, log=text, error_type=type(exc).__name__)


def failed(
    resource: ResourceView,
    previous: NetworkStrategyStatus,
    base: NetworkStrategyStatus,
    exc: BaseException,
    *,
    now: datetime,
    secrets_seen: list[str],
) -> PassOutcome:
    """Any other failure: the error status, which stops iterations until the resource is woken."""
    kind = type(exc).__name__
    message = bound_head(scrub(str(exc) or kind, secrets_seen), EXCEPTION_MESSAGE_MAX_LENGTH)
    formatted = "".join(tracebacks.format_exception(exc))
    trace = bound_tail(scrub(formatted, secrets_seen), TRACEBACK_MAX_LENGTH)
    change = base.with_changes(
        status=Status.error,
        exception=ExceptionInfo(type=bound_head(kind, 256), message=message),
        traceback=trace,
        iterations=(previous.iterations or 0) + 1,
        last_iteration=now,
        next_iteration=None,
    )
    text = f"{kind}: {message}"
    change = _with_conditions(change, previous, conditions.failed(kind, text), resource, now)
    expected = isinstance(
        exc, (IterationError, AlchemiscaleError, CredentialsSecretError, CredentialsPolicyError, ValueError)
    )
    return PassOutcome(
        "error",
        change,
        [Event("Warning", kind, bound_head(text))],
        log=text if expected else f"unexpected failure: {text}",
        error_type=kind if isinstance(exc, AlchemiscaleError) else None,
    )


def disabled(resource: ResourceView, previous: NetworkStrategyStatus, *, now: datetime) -> PassOutcome:
    """spec.mode is disabled: said once per generation, then nothing runs."""
    change = NetworkStrategyStatus(observed_generation=resource.generation, next_iteration=None)
    change = _with_conditions(change, previous, conditions.disabled(), resource, now)
    return PassOutcome("disabled", change, log="disabled")


def idle(resource: ResourceView, previous: NetworkStrategyStatus, *, now: datetime, message: str) -> PassOutcome:
    """Another NetworkStrategy owns the network: this one waits, and says so once."""
    change = NetworkStrategyStatus(observed_generation=resource.generation, next_iteration=None)
    change = _with_conditions(change, previous, conditions.idle(message), resource, now)
    return PassOutcome("idle", change, [Event("Warning", "NetworkOwnedElsewhere", message)], log=message)
