"""The NetworkStrategy's status: written by the operator only, built as these models.

A pass builds a `NetworkStrategyStatus` holding only the fields it changes (its merge patch:
a field set to None deletes it); `merged` applies it to the stored status, and `document` is
what is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from strategy_operator.api.v1alpha1.fields import CamelModel, Timestamp, keep_head, keep_tail
from strategy_operator.text import EXCEPTION_MESSAGE_MAX_LENGTH, TRACEBACK_MAX_LENGTH

CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class Status(str, Enum):
    awake = "awake"
    dormant = "dormant"
    error = "error"


class ExceptionInfo(CamelModel):
    """The error that put the strategy into the error status."""

    type: str = Field(max_length=256, description="The exception's class name.")
    message: Annotated[str, AfterValidator(keep_head(EXCEPTION_MESSAGE_MAX_LENGTH))] = Field(
        description=f"The exception's message (at most {EXCEPTION_MESSAGE_MAX_LENGTH} characters).",
        json_schema_extra={"maxLength": EXCEPTION_MESSAGE_MAX_LENGTH},
    )


class Condition(CamelModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(max_length=316, pattern=CONDITION_TYPE_PATTERN, description="Condition type, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=CONDITION_REASON_PATTERN,
        description="CamelCase reason of the last transition.",
    )
    message: str = Field(default="", max_length=32768, description="Human-readable details.")
    last_transition_time: Timestamp = Field(description="When the status last changed (RFC 3339 UTC).")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation the condition was set for."
    )


class IterationSummary(CamelModel):
    """What the last iteration found and did."""

    transformations_weighted: int = Field(default=0, ge=0, description="Transformations with a non-null weight.")
    transformations_finished: int = Field(default=0, ge=0, description="Transformations with weight null (done).")
    transformations_blocked: int = Field(
        default=0, ge=0, description="Transformations held at 0 tasks because they have errored tasks."
    )
    tasks_actioned: int = Field(default=0, ge=0, description="Existing tasks actioned.")
    tasks_created: int = Field(default=0, ge=0, description="New tasks created and actioned.")
    tasks_cancelled: int = Field(default=0, ge=0, description="Tasks un-actioned.")
    tasks_deferred: int = Field(
        default=0,
        ge=0,
        description="Tasks the plan wanted created but the operator's per-iteration creation cap held back "
        "for the next iterations.",
    )


class NetworkTaskCounts(CamelModel):
    """The network's tasks by status: what alchemiscale's get_network_status reports."""

    waiting: int = Field(default=0, ge=0, description="Tasks waiting to be claimed.")
    running: int = Field(default=0, ge=0, description="Tasks claimed by a compute service.")
    complete: int = Field(default=0, ge=0, description="Tasks finished with a successful result.")
    error: int = Field(default=0, ge=0, description="Tasks whose last attempt failed.")
    invalid: int = Field(default=0, ge=0, description="Tasks marked invalid.")
    deleted: int = Field(default=0, ge=0, description="Tasks marked deleted.")


class NetworkStrategyStatus(CamelModel):
    """Written by the operator only."""

    model_config = ConfigDict(extra="ignore")

    status: Status | None = Field(default=None, description="awake, dormant or error.")
    iterations: int | None = Field(default=None, ge=0, description="Completed iterations.")
    last_iteration: Timestamp | None = Field(
        default=None, description="When the last iteration finished (RFC 3339 UTC)."
    )
    last_iteration_result_count: int | None = Field(
        default=None, ge=0, description="The network's successful result count measured by the last iteration."
    )
    exception: ExceptionInfo | None = Field(default=None, description="Set when status is error.")
    traceback: Annotated[str | None, AfterValidator(keep_tail(TRACEBACK_MAX_LENGTH))] = Field(
        default=None,
        description=f"Traceback of the error (its last {TRACEBACK_MAX_LENGTH} characters, credentials scrubbed).",
        json_schema_extra={"maxLength": TRACEBACK_MAX_LENGTH},
    )
    observed_generation: int | None = Field(default=None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        default=None,
        max_length=16,
        description="Standard conditions.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_iteration_summary: IterationSummary | None = Field(default=None, description="What the last iteration did.")
    task_counts: NetworkTaskCounts | None = Field(
        default=None,
        description="Every task of the network's transformations by status, whoever created it, "
        "as seen by the last check (before that iteration's changes).",
    )
    last_wake_token: str | None = Field(
        default=None,
        max_length=1024,
        description="The alchemiscale.org/wake annotation value last honoured.",
    )
    next_iteration: Timestamp | None = Field(default=None, description="When the next iteration is due (RFC 3339 UTC).")
    effective_sleep_interval: int | None = Field(
        default=None, ge=1, description="Seconds between iterations after the operator's minimum is applied."
    )
    kopf: dict[str, Any] | None = Field(default=None, description="Kopf's own bookkeeping; not part of the API.")

    @classmethod
    def read(cls, stored: Mapping[str, Any] | None) -> NetworkStrategyStatus:
        """The stored status as a model. A field it cannot read (written by another version, or
        edited by hand) counts as absent, so the operator writes it afresh rather than stopping."""
        document = dict(stored or {})
        while True:
            try:
                return cls.model_validate(document)
            except ValidationError as exc:
                unreadable = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
                if not unreadable & document.keys():
                    raise
                for key in unreadable:
                    document.pop(key, None)

    def with_changes(self, **changes: Any) -> NetworkStrategyStatus:
        """This change with more fields (by field name; None deletes the field), validated."""
        values = {name: getattr(self, name) for name in self.model_fields_set}
        return type(self)(**{**values, **changes})

    def document(self) -> dict[str, Any]:
        """The status as the API stores it: camelCase keys, RFC 3339 times, absent fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def merged(self, change: NetworkStrategyStatus) -> NetworkStrategyStatus:
        """This status with `change` applied: each field `change` sets replaces this one's whole,
        None deleting it (nested objects and lists are always written whole, so a JSON merge patch
        of the document gives the same result)."""
        values = {name: getattr(self, name) for name in self.model_fields_set}
        for name in change.model_fields_set:
            values[name] = getattr(change, name)
        return type(self)(**{name: value for name, value in values.items() if value is not None})
