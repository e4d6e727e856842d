"""Standard Kubernetes conditions (Ready, Progressing, Degraded) for a NetworkStrategy.

A condition keeps its `lastTransitionTime` while its `status` stays the same, so the time
says when the state began, not when it was last written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from strategy_operator.controller.scheduling import format_time
from strategy_operator.text import bound_head

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
CONDITION_TYPES = (READY, PROGRESSING, DEGRADED)


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str

    def as_status(self, *, now: datetime, generation: int | None, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        text = "True" if self.status else "False"
        doc = self._doc(text, generation)
        kept = previous.get("lastTransitionTime") if previous is not None and previous.get("status") == text else None
        doc["lastTransitionTime"] = kept or format_time(now)
        return doc

    def _doc(self, text: str, generation: int | None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": self.type,
            "status": text,
            "reason": self.reason,
            "message": bound_head(self.message, 1024),
        }
        if generation is not None:
            doc["observedGeneration"] = generation
        return doc


def merge(
    previous: Iterable[Mapping[str, Any]] | None, new: Iterable[Condition], *, now: datetime, generation: int | None
) -> list[dict[str, Any]]:
    """The full conditions list (merge-patches replace lists), ordered Ready, Progressing, Degraded."""
    old = {c.get("type"): c for c in (previous or []) if isinstance(c, Mapping)}
    fresh = {c.type: c for c in new}
    result = []
    for kind in CONDITION_TYPES:
        if kind in fresh:
            result.append(fresh[kind].as_status(now=now, generation=generation, previous=old.get(kind)))
        elif kind in old:
            result.append(dict(old[kind]))
    return result


def get(conditions: Iterable[Mapping[str, Any]] | None, kind: str) -> Mapping[str, Any] | None:
    for condition in conditions or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


# The conditions of each situation the operator reports.


def iterated(summary: str) -> list[Condition]:
    return [
        Condition(READY, True, "Iterated", summary),
        Condition(PROGRESSING, True, "Awake", "the strategy is awake and iterates every interval"),
        Condition(DEGRADED, False, "AsExpected", "the last iteration succeeded"),
    ]


def dormant(message: str) -> list[Condition]:
    return [
        Condition(READY, True, "Dormant", message),
        Condition(
            PROGRESSING, False, "Dormant", "every transformation is finished; each interval only checks for new results"
        ),
        Condition(DEGRADED, False, "AsExpected", "the last check succeeded"),
    ]


def failed(reason: str, message: str) -> list[Condition]:
    return [
        Condition(READY, False, reason, message),
        Condition(
            PROGRESSING,
            False,
            "Error",
            "iterations are stopped until the resource is woken (annotate it with a new alchemiscale.org/wake value)",
        ),
        Condition(DEGRADED, True, reason, message),
    ]


def unreachable(message: str, reason: str = "AlchemiscaleUnreachable") -> list[Condition]:
    return [
        Condition(READY, False, reason, message),
        Condition(PROGRESSING, True, "Retrying", "the iteration is retried with backoff"),
        Condition(DEGRADED, True, reason, message),
    ]


def disabled() -> list[Condition]:
    return [
        Condition(READY, False, "Disabled", "spec.mode is disabled: no iterations run"),
        Condition(PROGRESSING, False, "Disabled", "spec.mode is disabled: no iterations run"),
        Condition(DEGRADED, False, "Disabled", "spec.mode is disabled"),
    ]


def idle(message: str) -> list[Condition]:
    return [
        Condition(READY, False, "NetworkOwnedElsewhere", message),
        Condition(PROGRESSING, False, "Idle", "another NetworkStrategy runs this network; this one waits for it to go"),
        Condition(DEGRADED, True, "NetworkOwnedElsewhere", message),
    ]
