"""What one observation of a network saw, and the engine's snapshot document rendered from it.

`NetworkSnapshotter` (snapshotter.py) makes `Observation`s; `build_snapshot` turns one into
the document `plan_iteration` reads (docs/engine.md, "Formats").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TransformationObservation:
    key: str
    state_a: str
    state_b: str
    results: int


@dataclass(frozen=True, slots=True)
class TaskObservation:
    key: str
    transformation: str
    status: str
    actioned: bool


@dataclass(frozen=True, slots=True)
class Observation:
    """What one observation saw; `tasks` holds the live (waiting/running/error) tasks."""

    network: str
    chemical_systems: tuple[str, ...]
    transformations: tuple[TransformationObservation, ...]
    tasks: tuple[TaskObservation, ...]
    requests: int
    results_read: int
    # The network's tasks by status, every status present (0 when none): what alchemiscale's
    # get_network_status reports, read by the same request that detects changes.
    task_counts: dict[str, int]
    # Successful result references per transformation with any (what the counts count);
    # the stratocaster adapter fetches the ProtocolDAGResults behind them.
    result_refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def result_count(self) -> int:
        """R: successful results summed over every transformation of the network."""
        return sum(t.results for t in self.transformations)


def build_snapshot(
    observation: Observation,
    *,
    strategy: Mapping[str, Any],
    mode: str = "partial",
    task_scaling: str = "exponential",
    max_tasks_per_transformation: int = 3,
    state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The engine's snapshot document (camelCase, docs/engine.md) for one observation.

    `strategy` is `{"name": ..., "settings": {...}}` (settings may be omitted or None for the
    strategy's defaults); `state` is `{"status": ..., "lastIterationResultCount": ...}` or None.
    """
    if "name" not in strategy:
        raise ValueError("strategy: field 'name' is required")
    strategy_doc: dict[str, Any] = {"name": strategy["name"]}
    if strategy.get("settings") is not None:
        strategy_doc["settings"] = dict(strategy["settings"])
    document: dict[str, Any] = {
        "network": observation.network,
        "strategy": strategy_doc,
        "mode": mode,
        "taskScaling": task_scaling,
        "maxTasksPerTransformation": max_tasks_per_transformation,
    }
    if state is not None:
        document["state"] = dict(state)
    document["chemicalSystems"] = list(observation.chemical_systems)
    document["transformations"] = [
        {"key": t.key, "stateA": t.state_a, "stateB": t.state_b, "results": t.results}
        for t in observation.transformations
    ]
    document["tasks"] = [
        {"key": t.key, "transformation": t.transformation, "status": t.status, "actioned": t.actioned}
        for t in observation.tasks
    ]
    return document
