"""The iteration snapshot (docs/engine.md, "Snapshot (input)"): everything one iteration looks at.

camelCase JSON, like the CRD. Validation is strict and every message names its field:
unknown fields, wrong types, booleans for numbers, malformed scoped keys, duplicate keys,
tasks of unknown transformations and actioned tasks that cannot be actioned are rejected.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic.alias_generators import to_camel

from strategy_operator.engine.strategies.registry import settings_classes, strategy_names
from strategy_operator.engine.strategies.settings import StrategySettings, settings_for
from strategy_operator.engine.vocabulary import (
    ACTIONABLE_STATUSES,
    MAX_TASKS_PER_TRANSFORMATION,
    STRATEGY_IMPORT_PATH_PATTERN,
    Mode,
    StrategyStatus,
    TaskScaling,
    TaskStatus,
)
from strategy_operator.scopedkey import SCOPED_KEY_PATTERN, InvalidScopedKey, ScopedKey, parse_network_key

# Counts are int64 in alchemiscale and in Kubernetes; the engine's arrays rely on that bound.
INT64_MAX = 2**63 - 1
Count = Annotated[StrictInt, Field(ge=0, le=INT64_MAX)]


_VALID_SCOPED_KEY = re.compile(SCOPED_KEY_PATTERN)
IMPORT_PATH = re.compile(STRATEGY_IMPORT_PATH_PATTERN)


def _scoped_key(value: str) -> str:
    if _VALID_SCOPED_KEY.fullmatch(value):  # fast path; the parser below explains what is wrong
        return value
    try:
        ScopedKey.from_str(value)
    except InvalidScopedKey as error:
        raise ValueError(str(error)) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class SnapshotStrategy(_Model):
    name: str
    settings: dict[str, Any] | None = None

    @property
    def is_import_path(self) -> bool:
        """A stratocaster Strategy named by import path, run by the operator's adapter."""
        return IMPORT_PATH.fullmatch(self.name) is not None

    @model_validator(mode="after")
    def _known(self) -> SnapshotStrategy:
        if self.is_import_path:
            return self  # its own settings model validates them, in the adapter
        if self.name not in strategy_names():
            raise ValueError(f"name: unknown strategy {self.name!r}; known: {', '.join(strategy_names())}")
        settings_for(self.name, self.settings, settings_classes())
        return self

    def resolved_settings(self) -> StrategySettings:
        return settings_for(self.name, self.settings, settings_classes())


class SnapshotState(_Model):
    status: StrategyStatus = "awake"
    last_iteration_result_count: Count = 0


class SnapshotTransformation(_Model):
    key: str
    state_a: str
    state_b: str
    results: Count = 0

    @field_validator("key", "state_a", "state_b")
    @classmethod
    def _keys(cls, value: str) -> str:
        return _scoped_key(value)


class SnapshotTask(_Model):
    key: str
    transformation: str
    status: TaskStatus
    actioned: StrictBool = False

    @field_validator("key", "transformation")
    @classmethod
    def _keys(cls, value: str) -> str:
        return _scoped_key(value)


class Snapshot(_Model):
    network: str
    strategy: SnapshotStrategy
    mode: Mode = Mode.partial
    task_scaling: TaskScaling = TaskScaling.exponential
    # The CRD's bound, re-checked here: a snapshot may come from a file, not only from the operator.
    max_tasks_per_transformation: Annotated[StrictInt, Field(ge=1, le=MAX_TASKS_PER_TRANSFORMATION)] = 3
    # At most this many tasks created by one iteration (null: no cap); the rest is deferred to
    # the next iterations, breadth first, so one plan cannot flood the server.
    max_tasks_created: Annotated[StrictInt, Field(ge=0, le=INT64_MAX)] | None = None
    state: SnapshotState = SnapshotState()
    chemical_systems: list[str] = []
    transformations: list[SnapshotTransformation] = []
    tasks: list[SnapshotTask] = []

    @field_validator("network")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            parse_network_key(value)
        except InvalidScopedKey as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("chemical_systems")
    @classmethod
    def _systems(cls, value: list[str]) -> list[str]:
        for i, key in enumerate(value):
            try:
                _scoped_key(key)
            except ValueError as error:
                raise ValueError(f"[{i}]: {error}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Snapshot:
        seen: dict[str, int] = {}
        for i, transformation in enumerate(self.transformations):
            if transformation.key in seen:
                raise ValueError(
                    f"transformations[{i}].key: {transformation.key} is listed twice "
                    f"(also transformations[{seen[transformation.key]}])"
                )
            seen[transformation.key] = i
        tasks_seen: dict[str, int] = {}
        for i, task in enumerate(self.tasks):
            if task.key in tasks_seen:
                raise ValueError(f"tasks[{i}].key: {task.key} is listed twice (also tasks[{tasks_seen[task.key]}])")
            tasks_seen[task.key] = i
            if task.transformation not in seen:
                raise ValueError(
                    f"tasks[{i}].transformation: {task.transformation} is not a transformation of the snapshot"
                )
            if task.actioned and task.status not in ACTIONABLE_STATUSES:
                raise ValueError(
                    f"tasks[{i}].actioned: a {task.status} task cannot be actioned "
                    "(only waiting, running and error tasks can)"
                )
        return self

    @property
    def result_count(self) -> int:
        """R: the network's total successful result count."""
        return sum(t.results for t in self.transformations)
