"""Field types the spec and the status share: camelCase names on the wire, RFC 3339 times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from strategy_operator.text import bound_head, bound_tail


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339, e.g. 2026-11-25T12:00:00Z)")
    return value.astimezone(UTC)


def _whole_second_utc(value: datetime) -> datetime:
    # What the status holds in memory equals what it stores, so deciding from a status just
    # built and from the same status read back gives the same answer.
    return _utc(value).replace(microsecond=0)


def format_rfc3339(value: datetime) -> str:
    """Whole-second UTC with a `Z`, the form Kubernetes itself writes."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime, AfterValidator(_whole_second_utc), PlainSerializer(format_rfc3339, return_type=str, when_used="json")
]


def keep_tail(limit: int) -> Callable[[str | None], str | None]:
    def bound(value: str | None) -> str | None:
        return None if value is None else bound_tail(value, limit)

    return bound


def keep_head(limit: int) -> Callable[[str | None], str | None]:
    def bound(value: str | None) -> str | None:
        return None if value is None else bound_head(value, limit)

    return bound


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
