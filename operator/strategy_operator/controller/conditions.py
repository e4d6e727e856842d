"""Standard Kubernetes conditions (Ready, Progressing, Degraded) for a NetworkStrategy.

A condition keeps its `lastTransitionTime` while its `status` stays the same, so the time
says when the state began, not when it was last written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from strategy_operator.api.v1alpha1 import Condition
from strategy_operator.text import bound_head

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
CONDITION_TYPES = (READY, PROGRESSING, DEGRADED)
MESSAGE_MAX_LENGTH = 1024


@dataclass(frozen=True)
class NewCondition:
    """What a pass says of one condition type; `merge` gives it its transition time."""

    type: str
    status: bool
    reason: str
    message: str

    def as_condition(self, *, now: datetime, generation: int | None, previous: Condition | None) -> Condition:
        text = "True" if self.status else "False"
        kept = previous.last_transition_time if previous is not None and previous.status == text else None
        return Condition(
            type=self.type,
            status=text,
            reason=self.reason,
            message=bound_head(self.message, MESSAGE_MAX_LENGTH),
            last_transition_time=kept or now,
            observed_generation=generation,
        )


def merge(
    previous: Iterable[Condition] | None, new: Iterable[NewCondition], *, now: datetime, generation: int | None
) -> list[Condition]:
    """The full conditions list (merge-patches replace lists), ordered Ready, Progressing, Degraded."""
    old = {c.type: c for c in (previous or [])}
    fresh = {c.type: c for c in new}
    result = []
    for kind in CONDITION_TYPES:
        if kind in fresh:
            result.append(fresh[kind].as_condition(now=now, generation=generation, previous=old.get(kind)))
        elif kind in old:
            result.append(old[kind])
    return result


def get(conditions: Iterable[Condition] | None, kind: str) -> Condition | None:
    for condition in conditions or []:
        if condition.type == kind:
            return condition
    return None


# The conditions of each situation the operator reports.


def iterated(summary: str) -> list[NewCondition]:
    return [
        NewCondition(READY, True, "Iterated", summary),
        NewCondition(PROGRESSING, True, "Awake", "the strategy is awake and iterates every interval"),
        NewCondition(DEGRADED, False, "AsExpected", "the last iteration succeeded"),
    ]


def dormant(message: str) -> list[NewCondition]:
    return [
        NewCondition(READY, True, "Dormant", message),
        NewCondition(
            PROGRESSING, False, "Dormant", "every transformation is finished; each interval only checks for new results"
        ),
        NewCondition(DEGRADED, False, "AsExpected", "the last check succeeded"),
    ]


def failed(reason: str, message: str) -> list[NewCondition]:
    return [
        NewCondition(READY, False, reason, message),
        NewCondition(
            PROGRESSING,
            False,
            "Error",
            "iterations are stopped until the resource is woken (annotate it with a new alchemiscale.org/wake value)",
        ),
        NewCondition(DEGRADED, True, reason, message),
    ]


def unreachable(message: str, reason: str = "AlchemiscaleUnreachable") -> list[NewCondition]:
    return [
        NewCondition(READY, False, reason, message),
        NewCondition(PROGRESSING, True, "Retrying", "the iteration is retried with backoff"),
        NewCondition(DEGRADED, True, reason, message),
    ]


def disabled() -> list[NewCondition]:
    return [
        NewCondition(READY, False, "Disabled", "spec.mode is disabled: no iterations run"),
        NewCondition(PROGRESSING, False, "Disabled", "spec.mode is disabled: no iterations run"),
        NewCondition(DEGRADED, False, "Disabled", "spec.mode is disabled"),
    ]


def idle(message: str) -> list[NewCondition]:
    return [
        NewCondition(READY, False, "NetworkOwnedElsewhere", message),
        NewCondition(
            PROGRESSING, False, "Idle", "another NetworkStrategy runs this network; this one waits for it to go"
        ),
        NewCondition(DEGRADED, True, "NetworkOwnedElsewhere", message),
    ]
