"""The sandbox's records, constants and errors, shared by every part of `SandboxState`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, PositiveInt

from strategy_operator.scopedkey import InvalidScopedKey, ScopedKey

TASK_STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
USER_SETTABLE_STATUSES = ("waiting", "invalid", "deleted")
ACTIONABLE_STATUSES = ("waiting", "running", "error")
DEFAULT_HUB_WEIGHT = 0.5
DEFAULT_ACTION_WEIGHT = 0.5
DEFAULT_PRIORITY = 10
DEFAULT_FAILURE_TRACEBACK = "SandboxSimulatedFailure: a simulated protocol unit failed"
MAX_PRIORITY = 2**63 - 1
NO_SUCH_OBJECT = "'No such object in database'"  # str() of the KeyError upstream raises
NOT_A_NETWORK = "`network` ScopedKey does not correspond to an `AlchemicalNetwork`"


class SandboxError(Exception):
    """Base of the errors the HTTP layer maps to responses."""


class BadRequest(SandboxError):
    """The server answers 400 with this detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ServerFault(SandboxError):
    """The real server crashes here (an unhandled exception): 500, plain text."""


class UnknownIdentity(ServerFault):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Identity:
    identifier: str
    key: str
    scopes: list[str]

    def __repr__(self) -> str:  # never show the key
        return f"Identity(identifier={self.identifier!r}, scopes={self.scopes!r})"


@dataclass
class ChemicalSystemRecord:
    sk: str
    name: str
    components: dict[str, Any]


@dataclass
class TransformationRecord:
    sk: str
    qualname: str
    name: str
    systems: tuple[str, ...]  # SKs: (stateA, stateB) or (system,)
    protocol: dict[str, Any]


@dataclass
class StrategyRecord:
    sk: str
    chain: list[Any]
    state: dict[str, Any]


@dataclass
class NetworkRecord:
    sk: str
    name: str
    transformations: list[str]
    chemical_systems: list[str]
    mark: str = "active"
    hub_weight: float = DEFAULT_HUB_WEIGHT
    strategy: StrategyRecord | None = None

    @property
    def taskhub_sk(self) -> str:
        key = ScopedKey.from_str(self.sk)
        return f"TaskHub-{hashlib.md5(self.sk.encode()).hexdigest()}-{key.scope}"

    @property
    def mark_sk(self) -> str:
        key = ScopedKey.from_str(self.sk)
        return f"NetworkMark-{hashlib.md5(('mark:' + self.sk).encode()).hexdigest()}-{key.scope}"


@dataclass
class TaskRecord:
    sk: str
    transformation: str
    status: str = "waiting"
    priority: int = DEFAULT_PRIORITY
    creator: str | None = None
    extends: str | None = None
    created: dt.datetime = field(default_factory=_utcnow)
    claim: str | None = None  # the claiming compute service, while one holds it
    claimed_at: float | None = None


@dataclass
class ResultRecord:
    sk: str
    task: str
    transformation: str
    ok: bool
    obj_key: str
    location: str
    created: dt.datetime
    creator: str | None
    payload: bytes
    tracebacks: list[str] | None = None  # failed units' tracebacks (failures only)


class StrategyModeEnum(StrEnum):
    full = "full"
    partial = "partial"
    disabled = "disabled"


class StrategyStatusEnum(StrEnum):
    awake = "awake"
    dormant = "dormant"
    error = "error"


class StrategyTaskScalingEnum(StrEnum):
    linear = "linear"
    exponential = "exponential"


class StrategyStateModel(BaseModel):
    """alchemiscale's StrategyState: omitted fields take defaults, unknown keys are ignored.

    Enums (in upstream's member order) and the title make a 422's detail, which is the
    text of pydantic's error, read as upstream's does."""

    model_config = ConfigDict(extra="ignore", title="StrategyState")

    mode: StrategyModeEnum = StrategyModeEnum.partial
    status: StrategyStatusEnum = StrategyStatusEnum.awake
    iterations: int = 0
    sleep_interval: PositiveInt = 3600
    last_iteration: dt.datetime | None = None
    last_iteration_result_count: int = 0
    max_tasks_per_transformation: PositiveInt = 3
    task_scaling: StrategyTaskScalingEnum = StrategyTaskScalingEnum.exponential
    exception: tuple[str, str] | None = None
    traceback: str | None = None


def validate_strategy_state(fields: dict[str, Any]) -> dict[str, Any]:
    """Raises pydantic's ValidationError (a ValueError) naming the offending field."""
    state = StrategyStateModel.model_validate(fields).model_dump()
    return {name: value.value if isinstance(value, StrEnum) else value for name, value in state.items()}


def strategy_state_json(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    if isinstance(out["last_iteration"], dt.datetime):
        out["last_iteration"] = out["last_iteration"].isoformat()
    if out["exception"] is not None:
        out["exception"] = list(out["exception"])
    return out


def _parse_sk(sk: str | ScopedKey) -> ScopedKey:
    if isinstance(sk, ScopedKey):
        return sk
    try:
        return ScopedKey.from_str(sk)
    except InvalidScopedKey as exc:
        raise ServerFault(str(exc)) from None


def _fullmatch(pattern: str, text: str) -> bool:
    """Whole-string regex match, as Cypher's `=~`; a bad pattern is a database error (500)."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error as exc:
        raise ServerFault(f"invalid regular expression {pattern!r}: {exc}") from None


def _in_key_order(sks: Iterable[str]) -> list[str]:
    def order(sk: str) -> tuple[str, ...]:
        gufe_key, org, campaign, project = sk.rsplit("-", 3)
        return (org, campaign, project, gufe_key)

    return sorted(sks, key=order)


def _gufe_key(sk: str) -> str:
    qualname, token, *_ = sk.split("-")
    return f"{qualname}-{token}"
