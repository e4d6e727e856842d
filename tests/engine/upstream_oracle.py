"""An independent oracle of one Strategist iteration, for differential tests of the engine.

Transcribed as literally as practical from alchemiscale 0.8.0's
`strategist/service.py::_execute_strategy` (and the helpers it calls), operating on a raw
snapshot document (docs/engine.md, "Formats"; a dict, defaults applied here, not by the engine's models).
The strategies' weights are transcribed from docs/engine.md ("ConnectivityStrategy", "RadialGrowthStrategy") with plain BFS,
independently of the engine (no numpy, no scipy, no networkx).

Only these deviations from upstream, each one documented:
- docs/engine.md, "Differences from upstream": every transformation is weighted on its own (parallel ones too);
- docs/engine.md, "Differences from upstream": RadialGrowth's canonical L;
- docs/engine.md: `resolve` sums with `math.fsum`; among equal tasks, actioning takes them in
  listing order and trimming takes actioned tasks from the end of the listing;
- docs/engine.md: `mode: disabled` gives `ran: false` (upstream's scheduler never selects it);
  going dormant reports the resolved weights and no targets.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

WAITING, RUNNING, ERROR = "waiting", "running", "error"


# ------------------------------------------------------------------ the strategies (2.2, 2.4, 2.5)


def _components(systems: list[str], edges: list[tuple[str, str, str]]) -> list[set[str]]:
    """Weakly connected components (stratocaster's propose splits the network into them)."""
    neighbours: dict[str, set[str]] = {s: set() for s in systems}
    for _, a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen: set[str] = set()
    components = []
    for start in systems:
        if start in seen:
            continue
        component = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in component:
                    component.add(other)
                    queue.append(other)
        seen |= component
        components.append(component)
    return components


def _eccentricity(component: set[str], edges: list[tuple[str, str, str]]) -> dict[str, int]:
    neighbours: dict[str, set[str]] = {s: set() for s in component}
    for _, a, b in edges:
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    ecc = {}
    for source in component:
        distance = {source: 0}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        ecc[source] = max(distance.values())
    return ecc


def connectivity_weights(component_edges, degree, n, settings) -> dict[str, float | None]:
    decay_rate, cutoff, max_runs = settings["decay_rate"], settings["cutoff"], settings["max_runs"]
    weights: dict[str, float | None] = {}
    for key, a, b in component_edges:
        transformation_num_components = n[key]
        scaling_factor = decay_rate**transformation_num_components
        weight = scaling_factor * (degree[a] + degree[b]) / 2
        if max_runs is None:
            if weight < cutoff:
                weight = None
        elif cutoff is None:
            if transformation_num_components >= max_runs:
                weight = None
        elif weight < cutoff or transformation_num_components >= max_runs:
            weight = None
        weights[key] = weight
    return weights


def radialgrowth_weights(component, component_edges, n, settings) -> dict[str, float | None]:
    ecc = _eccentricity(component, component_edges)
    D = max(ecc.values())
    lo = {key: min(ecc[a], ecc[b]) for key, a, b in component_edges}
    hi = {key: max(ecc[a], ecc[b]) for key, a, b in component_edges}
    # 2.5 step 3, the canonical L (2.6b)
    open_levels = [lo[key] for key, _, _ in component_edges if n[key] == 0 and hi[key] < D]
    L = min(open_levels) if open_levels else D
    weights: dict[str, float | None] = {}
    for key, _, _ in component_edges:
        if n[key] >= settings["max_runs"]:
            weights[key] = None
            continue
        d = hi[key] - L
        if d <= settings["candidacy_max_distance"]:
            f = 1 if d == 0 else settings["decay_distance_rate"] ** (d - 1)
        else:
            f = 0
        weights[key] = settings["decay_repeat_rate"] ** n[key] * f
    return weights


CONNECTIVITY_DEFAULTS = {"max_runs": 3, "decay_rate": 0.5, "cutoff": None}
CONNECTIVITY_FIELD_DEFAULTS = {"max_runs": None, "decay_rate": 0.5, "cutoff": None}
RADIALGROWTH_DEFAULTS = {
    "max_runs": 3,
    "candidacy_max_distance": 1,
    "decay_repeat_rate": 0.5,
    "decay_distance_rate": 0.5,
}


def propose(strategy: dict[str, Any], systems, edges, n) -> dict[str, float | None]:
    name, given = strategy["name"], strategy.get("settings")
    degree = {s: 0 for s in systems}
    for _, a, b in edges:
        degree[a] += 1
        degree[b] += 1
    weights: dict[str, float | None] = {}
    for component in _components(systems, edges):
        component_edges = [e for e in edges if e[1] in component]
        if not component_edges:
            continue
        if name == "ConnectivityStrategy":
            settings = dict(CONNECTIVITY_DEFAULTS) if given is None else {**CONNECTIVITY_FIELD_DEFAULTS, **given}
            part = connectivity_weights(component_edges, degree, n, settings)
        else:
            settings = {**RADIALGROWTH_DEFAULTS, **(given or {})}
            part = radialgrowth_weights(component, component_edges, n, settings)
        assert not set(part) & set(weights)  # StrategyResult.__or__ refuses overlapping keys
        weights.update(part)
    return weights


def resolve(weights: dict[str, float | None]) -> dict[str, float | None]:
    weight_sum = math.fsum([weight for weight in weights.values() if weight is not None])
    modified_weights = {key: weight / weight_sum for key, weight in weights.items() if weight is not None}
    weights = dict(weights)
    weights.update(modified_weights)
    return weights


# ------------------------------------------------------------------------- the service (1.2-1.4)


def _weights_to_task_counts(weights, max_tasks_per_transformation, task_scaling) -> dict[str, int]:
    task_counts = {}
    for transformation_key, weight in weights.items():
        if weight is None or weight == 0:
            task_counts[transformation_key] = 0
        elif weight == 1:
            task_counts[transformation_key] = max_tasks_per_transformation
        else:
            if task_scaling == "linear":
                tasks = int(1 + weight * max_tasks_per_transformation)
            elif task_scaling == "exponential":
                tasks = int((1 + max_tasks_per_transformation) ** weight)
            else:
                raise ValueError(f"Unknown task scaling: {task_scaling}")
            task_counts[transformation_key] = min(tasks, max_tasks_per_transformation)
    return task_counts


def _select_tasks_to_action(actionable_tasks_status: dict[str, str], required: int) -> list[str]:
    tasks_to_action = []
    for task_sk, status in actionable_tasks_status.items():
        if status == RUNNING:
            tasks_to_action.append(task_sk)
            if len(tasks_to_action) >= required:
                break
    if len(tasks_to_action) < required:
        for task_sk, status in actionable_tasks_status.items():
            if status == WAITING:
                tasks_to_action.append(task_sk)
                if len(tasks_to_action) >= required:
                    break
    return tasks_to_action


def _select_tasks_to_cancel(actioned_tasks: list[str], actioned_status: list[str], excess: int) -> list[str]:
    tasks_to_cancel = []
    for task_sk, status in zip(actioned_tasks, actioned_status):
        if status == WAITING:
            tasks_to_cancel.append(task_sk)
            if len(tasks_to_cancel) >= excess:
                break
    if len(tasks_to_cancel) < excess:
        for task_sk, status in zip(actioned_tasks, actioned_status):
            if status == RUNNING:
                tasks_to_cancel.append(task_sk)
                if len(tasks_to_cancel) >= excess:
                    break
    return tasks_to_cancel


def _not_run(status: str, result_count: int) -> dict[str, Any]:
    return {
        "ran": False,
        "status": status,
        "resultCount": result_count,
        "weights": {},
        "targets": {},
        "action": [],
        "create": {},
        "cancel": [],
    }


def oracle_plan(doc: dict[str, Any]) -> dict[str, Any]:
    """The plan JSON (docs/engine.md, "Plan (output)") upstream's iteration would produce for snapshot `doc`."""
    mode = doc.get("mode", "partial")
    task_scaling = doc.get("taskScaling", "exponential")
    max_tasks = doc.get("maxTasksPerTransformation", 3)
    state = {"status": "awake", "lastIterationResultCount": 0, **doc.get("state", {})}
    transformations = doc["transformations"]
    tasks = doc.get("tasks", [])
    edges = [(t["key"], t["stateA"], t["stateB"]) for t in transformations]
    systems = sorted({*doc.get("chemicalSystems", []), *(e[1] for e in edges), *(e[2] for e in edges)})
    n = {t["key"]: t.get("results", 0) for t in transformations}

    current_result_count = sum(n.values())
    if mode == "disabled":
        return _not_run(state["status"], current_result_count)

    # _check_dormant_status
    status = state["status"]
    if status == "dormant":
        if current_result_count == state["lastIterationResultCount"]:
            return _not_run("dormant", current_result_count)
        status = "awake"

    # _execute_strategy_logic
    weights = resolve(propose(doc["strategy"], systems, edges, n))

    # stop condition -> _handle_dormant_strategy
    if all(w is None for w in weights.values()):
        cancel = [t["key"] for t in tasks if t.get("actioned", False)] if mode == "full" else []
        return {
            "ran": True,
            "status": "dormant",
            "resultCount": current_result_count,
            "weights": weights,
            "targets": {},
            "action": [],
            "create": {},
            "cancel": sorted(cancel),
        }

    # _filter_errored_transformations
    for key, _, _ in edges:
        if any(t["transformation"] == key and t["status"] == ERROR for t in tasks):
            weights[key] = None

    task_counts = _weights_to_task_counts(weights, max_tasks, task_scaling)

    # _apply_task_counts
    action: list[str] = []
    create: dict[str, int] = {}
    cancel: list[str] = []
    for transformation_key, target_count in task_counts.items():
        mine = [t for t in tasks if t["transformation"] == transformation_key]
        # trimming takes actioned tasks last listed first (docs/engine.md)
        actioned_tasks = [t["key"] for t in reversed(mine) if t.get("actioned", False)]
        actioned_count = len(actioned_tasks)
        if target_count > actioned_count:
            required = target_count - actioned_count
            actionable_tasks_status = {
                t["key"]: t["status"]
                for t in mine
                if t["status"] in (WAITING, RUNNING) and t["key"] not in actioned_tasks
            }
            tasks_to_action = _select_tasks_to_action(actionable_tasks_status, required)
            if len(tasks_to_action) < required:
                create[transformation_key] = required - len(tasks_to_action)
            action.extend(tasks_to_action)
        elif target_count < actioned_count and mode == "full":
            excess = actioned_count - target_count
            status_of = {t["key"]: t["status"] for t in mine}
            cancel.extend(_select_tasks_to_cancel(actioned_tasks, [status_of[k] for k in actioned_tasks], excess))

    return {
        "ran": True,
        "status": status,
        "resultCount": current_result_count,
        "weights": weights,
        "targets": task_counts,
        "action": sorted(action),
        "create": create,
        "cancel": sorted(cancel),
    }
