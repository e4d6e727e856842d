"""One strategy iteration as a pure function: snapshot in, plan out.

The single implementation of docs/engine.md's "One iteration" (the operator and
`strategy-operator plan` both call `plan_iteration`). Where the reference leaves the choice
among equal tasks open, tasks are taken in the order the snapshot lists them:
- actioning picks the first listed unactioned running tasks, then the first listed waiting ones;
- trimming (full mode) un-actions the last listed actioned waiting tasks, then the last listed
  running ones (so with creation-ordered listings: newest first, oldest work kept).
The emitted `weights`/`targets`/`create` are keyed in sorted transformation-key order and
`action`/`cancel` are sorted, so the JSON never depends on listing order beyond those choices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Protocol

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.plan import Plan
from strategy_operator.engine.scaling import target_count
from strategy_operator.engine.snapshot import Snapshot, SnapshotTask
from strategy_operator.engine.strategies.base import Weights, resolve_weights
from strategy_operator.engine.strategies.registry import build_strategy
from strategy_operator.engine.vocabulary import ERROR, RUNNING, WAITING, Mode


class WeightSource(Protocol):
    """What the plan needs of a strategy: a name for messages and raw weights per transformation."""

    @property
    def name(self) -> str: ...

    def propose(self, graph: NetworkGraph, results: Mapping[str, int]) -> Weights: ...


def plan_iteration(snapshot: Snapshot, weights_from: WeightSource | None = None) -> Plan:
    """What this iteration does. Raises StrategyError when the strategy's weights are unusable.

    `weights_from` replaces the snapshot's built-in strategy: the stratocaster adapter passes a
    loaded Strategy with its gufe inputs, whose raw weights then go through the same plan.
    A snapshot naming a strategy by import path needs it (the snapshot carries no gufe objects).
    """
    result_count = snapshot.result_count
    state = snapshot.state

    # Re-checked here, not only by the scheduler: a disabled strategy must never act (defect #13).
    if snapshot.mode is Mode.disabled:
        return Plan(ran=False, status=state.status, result_count=result_count)
    if state.status == "dormant" and result_count == state.last_iteration_result_count:
        return Plan(ran=False, status="dormant", result_count=result_count)

    graph = NetworkGraph.build(
        ((t.key, t.state_a, t.state_b) for t in snapshot.transformations), snapshot.chemical_systems
    )
    results = {t.key: t.results for t in snapshot.transformations}
    if weights_from is not None:
        strategy: WeightSource = weights_from
    elif snapshot.strategy.is_import_path:
        raise StrategyError(
            f"strategy {snapshot.strategy.name!r} is named by import path: only the operator, which fetches "
            "the network's gufe objects and results, can run it; a snapshot alone runs the built-in strategies"
        )
    else:
        strategy = build_strategy(snapshot.strategy.name, snapshot.strategy.settings)
    weights = resolve_weights(strategy.name, strategy.propose(graph, results), graph.keys)

    tasks_by_transformation: dict[str, list[SnapshotTask]] = defaultdict(list)
    for task in snapshot.tasks:
        tasks_by_transformation[task.transformation].append(task)
    full = snapshot.mode is Mode.full

    if all(weight is None for weight in weights.values()):
        everything = sorted(task.key for task in snapshot.tasks if task.actioned) if full else []
        return Plan(ran=True, status="dormant", result_count=result_count, weights=weights, cancel=everything)

    # After normalisation and the stop check, with no renormalisation (docs/engine.md, "One iteration", step 6).
    blocked = frozenset(
        key
        for key, tasks in tasks_by_transformation.items()
        if weights[key] is not None and any(task.status == ERROR for task in tasks)
    )
    weights = {key: (None if key in blocked else weight) for key, weight in weights.items()}

    targets: dict[str, int] = {}
    action: list[str] = []
    create: dict[str, int] = {}
    cancel: list[str] = []
    for key in graph.keys:
        target = target_count(weights[key], snapshot.max_tasks_per_transformation, snapshot.task_scaling)
        targets[key] = target
        tasks = tasks_by_transformation.get(key, [])
        actioned = [task for task in tasks if task.actioned]
        if target > len(actioned):
            shortfall = target - len(actioned)
            candidates = [t for t in tasks if not t.actioned and t.status == RUNNING]
            candidates += [t for t in tasks if not t.actioned and t.status == WAITING]
            picked = candidates[:shortfall]
            action.extend(task.key for task in picked)
            if shortfall > len(picked):
                create[key] = shortfall - len(picked)
        elif target < len(actioned) and full:
            excess = len(actioned) - target
            # Errored actioned tasks are never trimmed, so a transformation may stay above target.
            trimmable = [t for t in reversed(actioned) if t.status == WAITING]
            trimmable += [t for t in reversed(actioned) if t.status == RUNNING]
            cancel.extend(task.key for task in trimmable[:excess])

    create, deferred = cap_creation(create, snapshot.max_tasks_created)
    return Plan.with_blocked(
        blocked,
        ran=True,
        status="awake",
        result_count=result_count,
        weights=weights,
        targets=targets,
        action=sorted(action),
        create=create,
        cancel=sorted(cancel),
        deferred=deferred,
    )


def cap_creation(create: dict[str, int], limit: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """Split `create` into what fits under `limit` and what is deferred, breadth first.

    Every transformation gets its first task before any gets a second (round robin in key
    order), so a capped iteration spreads compute over the network instead of filling the
    first transformations; the deferred rest is planned again, from fresh counts, next time.
    """
    wanted = sum(create.values())
    if limit is None or wanted <= limit:
        return dict(sorted(create.items())), {}
    keys = sorted(create)
    granted = dict.fromkeys(keys, 0)
    remaining = limit
    # Whole rounds at once (a transformation short of a round takes all it wants), then one
    # partial round in key order: O(transformations x distinct counts), not O(limit).
    while remaining:
        open_keys = [k for k in keys if granted[k] < create[k]]
        smallest = min(create[k] - granted[k] for k in open_keys)
        rounds = min(smallest, remaining // len(open_keys))
        if rounds == 0:
            for key in open_keys[:remaining]:
                granted[key] += 1
            break
        for key in open_keys:
            granted[key] += rounds
        remaining -= rounds * len(open_keys)
    kept = {k: n for k, n in granted.items() if n}
    deferred = {k: create[k] - granted[k] for k in keys if create[k] > granted[k]}
    return kept, deferred
