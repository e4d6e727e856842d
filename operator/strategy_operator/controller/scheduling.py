"""When a NetworkStrategy is due, from what its status records.

The clock lives in the resource's status, never in the operator's memory, so a restart
neither resets nor skips it. A resource is due at `status.nextIteration` when that was
planned with the interval in force now, otherwise `effective interval` after
`status.lastIteration`; a resource that never ran is due at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from strategy_operator.api import WAKE_ANNOTATION
from strategy_operator.api.v1alpha1 import NetworkStrategyStatus, Status, format_rfc3339

# Transient failures are retried after FIRST_BACKOFF x 2^(n-1) seconds (n = consecutive
# failures), never later than the resource's own interval nor MAX_BACKOFF.
MAX_BACKOFF = 300.0


def utcnow() -> datetime:
    return datetime.now(UTC)


# Status timestamps are formatted exactly as the status model serialises them (RFC 3339, UTC,
# whole seconds, `Z`); a naive datetime is refused there with a ValueError.
format_time = format_rfc3339


def parse_time(text: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as the status stores it; anything unreadable counts as absent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def effective_interval(sleep_interval: float, min_sleep_interval: float) -> float:
    """The resource's own interval, raised to the operator-wide minimum."""
    return float(max(sleep_interval, min_sleep_interval))


def due_at(status: NetworkStrategyStatus, interval: float) -> datetime | None:
    """When the next iteration (or dormant check) is due; None means now."""
    planned = status.next_iteration
    planned_with = status.effective_sleep_interval
    if planned is not None and planned_with is not None and float(planned_with) == float(interval):
        return planned
    last = status.last_iteration
    if last is None:
        return planned
    return last + timedelta(seconds=interval)


def is_due(status: NetworkStrategyStatus, interval: float, now: datetime) -> bool:
    moment = due_at(status, interval)
    return moment is None or now >= moment


def wake_token(annotations: Mapping[str, str] | None) -> str | None:
    if not annotations:
        return None
    token = annotations.get(WAKE_ANNOTATION)
    return token if token else None


def is_woken(annotations: Mapping[str, str] | None, status: NetworkStrategyStatus) -> bool:
    """A wake annotation whose value has not been acted upon yet."""
    token = wake_token(annotations)
    return token is not None and token != status.last_wake_token


def transient_backoff(failures: int, interval: float, first: float) -> float:
    """Seconds to wait after `failures` consecutive transient failures (failures >= 1)."""
    exponent = max(0, failures - 1)
    delay = first * (2.0 ** min(exponent, 16))
    return max(first, min(delay, interval, MAX_BACKOFF))


def mode_of(spec: Mapping[str, Any]) -> str:
    return str(spec.get("mode") or "partial")


def _disabled_reported(status: NetworkStrategyStatus, generation: int | None) -> bool:
    for condition in status.conditions or []:
        if condition.type == "Ready":
            return condition.reason == "Disabled" and status.observed_generation == generation
    return False


class Decision(Enum):
    """What a timer tick does with a resource."""

    skip = "skip"  # not due, errored and not woken, or disabled and already reported
    report_disabled = "report_disabled"  # disabled since the last report: write that once
    run = "run"  # due: run one pass
    run_woken = "run_woken"  # woken by the annotation: run one pass on a fresh login


def decide(
    spec: Mapping[str, Any],
    status: NetworkStrategyStatus,
    annotations: Mapping[str, str],
    generation: int | None,
    interval: float,
    now: datetime,
) -> Decision:
    """The tick's decision from the resource alone (`status`: the operator's latest view of it)."""
    if mode_of(spec) == "disabled":
        return Decision.skip if _disabled_reported(status, generation) else Decision.report_disabled
    if is_woken(annotations, status):
        return Decision.run_woken
    if status.status is Status.error:
        return Decision.skip
    return Decision.run if is_due(status, interval, now) else Decision.skip
