"""What the Python API reads back: a stored NetworkStrategy, and upstream's strategy state from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus


@dataclass(frozen=True)
class NetworkStrategyState:
    """What upstream's `StrategyState` holds, read from the resource.

    Before the operator's first pass over a new resource, the state is upstream's initial
    one: awake, 0 iterations, never run.
    """

    status: str
    iterations: int
    last_iteration: datetime | None
    last_iteration_result_count: int
    exception: tuple[str, str] | None
    """(type name, message), as upstream's state stores it."""
    traceback: str | None
    mode: str
    task_scaling: str
    max_tasks_per_transformation: int
    sleep_interval: int


@dataclass(frozen=True)
class NetworkStrategyResource:
    """One NetworkStrategy as stored: where it is, its spec, and the operator's status."""

    name: str
    namespace: str
    spec: NetworkStrategySpec
    status: NetworkStrategyStatus
    annotations: Mapping[str, str]
    metadata: Mapping[str, Any]


def resource_from_item(item: Mapping[str, Any]) -> NetworkStrategyResource:
    """One item of the API server's listing (or one object it returned), typed."""
    metadata = item.get("metadata", {})
    return NetworkStrategyResource(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        spec=NetworkStrategySpec.model_validate(item.get("spec", {})),
        status=NetworkStrategyStatus.read(item.get("status")),
        annotations=dict(metadata.get("annotations") or {}),
        metadata=dict(metadata),
    )


def strategy_state(resource: NetworkStrategyResource) -> NetworkStrategyState:
    """Upstream's state of the resource's strategy, with upstream's initial values for what is not set yet."""
    status, spec = resource.status, resource.spec
    return NetworkStrategyState(
        status=status.status.value if status.status is not None else "awake",
        iterations=status.iterations or 0,
        last_iteration=status.last_iteration,
        last_iteration_result_count=status.last_iteration_result_count or 0,
        exception=(status.exception.type, status.exception.message) if status.exception else None,
        traceback=status.traceback,
        mode=spec.mode.value,
        task_scaling=spec.task_scaling.value,
        max_tasks_per_transformation=spec.max_tasks_per_transformation,
        sleep_interval=spec.sleep_interval,
    )


def as_mapping(value: object) -> Mapping[str, Any]:
    """The kubernetes client's untyped JSON answers, as the objects they are (None: empty)."""
    return value if isinstance(value, Mapping) else {}
