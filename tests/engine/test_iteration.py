"""One iteration, snapshot to plan: docs/engine.md's "One iteration" and its worked examples."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from strategy_operator.engine import Plan, Snapshot, Strategy, StrategyError, plan_iteration, register_strategy
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies.settings import StrategySettings

from .engine_helpers import edge, path, snapshot, task, transformation


def run(doc) -> Plan:
    return plan_iteration(Snapshot.model_validate(doc))


def T(name):
    return transformation(name)


# ---------------------------------------------------------------- worked example 1 (path A-B-C-D)

EXAMPLE_1 = path("A", "B", "C", "D", results={"B_C": 1})


def test_example_1_weights_and_targets_linear():
    plan = run(snapshot(EXAMPLE_1, maxTasksPerTransformation=6, taskScaling="linear"))
    assert plan.weights == {T("A_B"): 0.375, T("B_C"): 0.25, T("C_D"): 0.375}
    assert plan.targets == {T("A_B"): 3, T("B_C"): 2, T("C_D"): 3}
    assert plan.create == {T("A_B"): 3, T("B_C"): 2, T("C_D"): 3}
    assert (plan.ran, plan.status, plan.result_count) == (True, "awake", 1)


def test_example_1_targets_exponential():
    plan = run(snapshot(EXAMPLE_1, maxTasksPerTransformation=6))
    assert plan.targets == {T("A_B"): 2, T("B_C"): 1, T("C_D"): 2}


def test_example_1_partial_actions_the_free_running_task_then_creates():
    tasks = [task("A_B", "waiting", True), task("A_B", "running", False)]
    plan = run(snapshot(EXAMPLE_1, tasks, maxTasksPerTransformation=6, taskScaling="linear"))
    assert plan.action == [tasks[1]["key"]]
    assert plan.create[T("A_B")] == 1


def test_example_1_full_trims_waiting_before_running():
    waiting = [task("A_B", "waiting", True) for _ in range(2)]
    running = [task("A_B", "running", True) for _ in range(3)]
    plan = run(snapshot(EXAMPLE_1, waiting + running, maxTasksPerTransformation=6, taskScaling="linear", mode="full"))
    assert plan.targets[T("A_B")] == 3
    assert plan.cancel == sorted(t["key"] for t in waiting)


def test_example_1_partial_never_trims():
    tasks = [task("A_B", "waiting", True) for _ in range(5)]
    plan = run(snapshot(EXAMPLE_1, tasks, maxTasksPerTransformation=6, taskScaling="linear"))
    assert plan.cancel == [] and T("A_B") not in plan.create


# ---------------------------------------------------------------- worked example 2 (cycle A-B-C-D-A)

EXAMPLE_2 = path("A", "B", "C", "D", results={"A_B": 2, "B_C": 1}) + [edge("D", "A", 3)]


def test_example_2_targets():
    linear = run(snapshot(EXAMPLE_2, maxTasksPerTransformation=6, taskScaling="linear"))
    assert linear.targets == {T("A_B"): 1, T("B_C"): 2, T("C_D"): 4, T("D_A"): 0}
    assert linear.weights[T("D_A")] is None
    exponential = run(snapshot(EXAMPLE_2, maxTasksPerTransformation=6))
    assert exponential.targets == {T("A_B"): 1, T("B_C"): 1, T("C_D"): 3, T("D_A"): 0}


def test_example_2_finished_transformation_is_trimmed_only_in_full_mode():
    tasks = [task("D_A", "waiting", True), task("D_A", "running", True)]
    full = run(snapshot(EXAMPLE_2, tasks, maxTasksPerTransformation=6, mode="full"))
    assert set(full.cancel) == {t["key"] for t in tasks}
    partial = run(snapshot(EXAMPLE_2, tasks, maxTasksPerTransformation=6))
    assert partial.cancel == []
    assert partial.summary.transformations_finished == 1 and partial.summary.transformations_blocked == 0


# ---------------------------------------------------------------- worked example 3 (diamond, RadialGrowth)

DIAMOND = path("A", "B", "C", "D") + [edge("D", "A"), edge("A", "C")]


def test_example_3a_and_3b():
    a = run(snapshot(DIAMOND, strategy="RadialGrowthStrategy", maxTasksPerTransformation=6, taskScaling="linear"))
    assert set(a.targets.values()) == {2}
    b_edges = [dict(e, results=1) if e["key"] == T("A_C") else e for e in DIAMOND]
    b = run(snapshot(b_edges, strategy="RadialGrowthStrategy", maxTasksPerTransformation=6, taskScaling="linear"))
    assert b.targets[T("A_C")] == 3 and b.targets[T("A_B")] == 2  # (1/6)*6 == 1.0
    c = run(snapshot(b_edges, strategy="RadialGrowthStrategy", maxTasksPerTransformation=6))
    assert set(c.targets.values()) == {1}


# ---------------------------------------------------------------- dormancy


def test_dormant_and_unchanged_is_a_no_op_even_in_full_mode():
    tasks = [task("A_B", "waiting", True)]
    plan = run(
        snapshot(
            path("A", "B", results={"A_B": 3}),
            tasks,
            mode="full",
            state={"status": "dormant", "lastIterationResultCount": 3},
        )
    )
    assert plan.to_json() == {
        "ran": False,
        "status": "dormant",
        "resultCount": 3,
        "weights": {},
        "targets": {},
        "action": [],
        "create": {},
        "cancel": [],
    }


@pytest.mark.parametrize("stored", [2, 4])
def test_dormant_wakes_when_the_count_differs_either_way(stored):
    plan = run(
        snapshot(
            path("A", "B", "C", results={"A_B": 3}), state={"status": "dormant", "lastIterationResultCount": stored}
        )
    )
    assert plan.ran and plan.status == "awake" and plan.create == {T("B_C"): 3}


def test_every_weight_none_goes_dormant_and_full_mode_cancels_everything_actioned():
    edges = path("A", "B", "C", results={"A_B": 3, "B_C": 3})
    tasks = [
        task("A_B", "error", True),
        task("B_C", "running", True),
        task("B_C", "waiting", False),
        task("A_B", "complete"),
    ]
    full = run(snapshot(edges, tasks, mode="full"))
    assert (full.status, full.ran) == ("dormant", True)
    assert full.cancel == sorted(tasks[i]["key"] for i in (0, 1))  # errored ones too (1.5)
    assert full.weights == {T("A_B"): None, T("B_C"): None} and full.targets == {}
    partial = run(snapshot(edges, tasks))
    assert partial.status == "dormant" and partial.cancel == [] and partial.action == []


@pytest.mark.parametrize("edges, systems", [([], []), ([], ["ChemicalSystem-x-acme-tyk2-run1"])])
def test_no_weights_at_all_goes_dormant(edges, systems):
    plan = run(snapshot(edges, chemicalSystems=systems))
    assert plan.status == "dormant" and plan.weights == {}


# ---------------------------------------------------------------- errored transformations


def test_errored_transformation_gets_no_tasks_and_others_are_not_renormalised():
    edges = path("A", "B", "C", "D")
    clean = run(snapshot(edges))
    tasks = [task("A_B", "error", False), task("A_B", "waiting", True), task("A_B", "running", True)]
    plan = run(snapshot(edges, tasks, mode="full"))
    assert plan.weights[T("A_B")] is None and plan.targets[T("A_B")] == 0
    assert plan.weights[T("B_C")] == clean.weights[T("B_C")]
    assert sorted(plan.cancel) == sorted(t["key"] for t in tasks[1:])
    assert plan.summary.transformations_blocked == 1 and plan.blocked == {T("A_B")}


def test_only_errored_live_weights_stay_awake_with_zero_targets():
    edges = path("A", "B", "C", results={"B_C": 3})
    plan = run(snapshot(edges, [task("A_B", "error", True)], mode="full"))
    assert plan.status == "awake" and plan.targets == {T("A_B"): 0, T("B_C"): 0}
    assert plan.cancel == []  # errored actioned tasks are never trimmed


def test_full_trim_never_cancels_errored_actioned_tasks():
    edges = path("A", "B", "C", results={"A_B": 3})
    tasks = [task("A_B", "error", True), task("A_B", "waiting", True)]
    plan = run(snapshot(edges, tasks, mode="full"))
    assert plan.cancel == [tasks[1]["key"]]


# ---------------------------------------------------------------- topping up and choices


def test_candidates_running_first_then_waiting_never_errored_or_done():
    tasks = [
        task("A_B", "waiting", name="w1"),
        task("A_B", "complete", name="c1"),
        task("A_B", "error", name="e1"),
        task("A_B", "running", name="r1"),
        task("A_B", "invalid", name="i1"),
        task("A_B", "deleted", name="d1"),
        task("A_B", "waiting", name="w2"),
    ]
    plan = run(snapshot(path("A", "B"), tasks, maxTasksPerTransformation=2, mode="full"))
    # the lone transformation has weight 1 -> M tasks; errored task blocks it, so nothing
    assert plan.targets == {T("A_B"): 0}
    clean = [t for t in tasks if t["status"] != "error"]
    plan = run(snapshot(path("A", "B"), clean, maxTasksPerTransformation=2))
    assert plan.action == sorted([clean[2]["key"], clean[0]["key"]])  # r1, then first-listed waiting w1
    assert plan.create == {}


def test_cancels_take_the_last_listed_first():
    tasks = [task("A_B", "waiting", True, name=f"w{i}") for i in range(4)]
    plan = run(snapshot(path("A", "B", "C", results={"A_B": 3}), tasks, mode="full"))
    assert plan.cancel == sorted(t["key"] for t in tasks)
    tasks = [task("B_C", "waiting", True, name=f"v{i}") for i in range(5)]
    plan = run(snapshot(path("A", "B", "C", results={"A_B": 3}), tasks, mode="full", maxTasksPerTransformation=3))
    assert plan.targets[T("B_C")] == 3
    assert plan.cancel == sorted(t["key"] for t in tasks[-2:])


def test_weight_one_gives_the_maximum_and_create_counts_only_the_shortfall():
    plan = run(snapshot(path("A", "B"), [task("A_B", "running", True)], maxTasksPerTransformation=5))
    assert plan.targets == {T("A_B"): 5} and plan.create == {T("A_B"): 4}
    assert plan.summary.tasks_to_create == 4 and plan.summary.transformations_weighted == 1


# ---------------------------------------------------------------- disabled (defect #13)


def test_disabled_refuses_to_act():
    tasks = [task("A_B", "waiting", True)]
    plan = run(snapshot(path("A", "B", "C", results={"A_B": 3, "B_C": 3}), tasks, mode="disabled"))
    assert plan.ran is False and plan.action == [] and plan.cancel == [] and plan.create == {}


# ---------------------------------------------------------------- plugged-in strategies


class _FixedSettings(StrategySettings):
    strategy_name = "FixedWeights"
    value: float = 1.0


class FixedWeights(Strategy):
    """Gives every transformation the same configured weight (for testing the guards)."""

    name = "FixedWeights"
    settings_class = _FixedSettings
    override: Mapping[str, object] | None = None

    def propose(self, graph: NetworkGraph, results):
        if FixedWeights.override is not None:
            return dict(FixedWeights.override)
        return {key: self.settings.value for key in graph.keys}


register_strategy(FixedWeights)


def test_a_third_strategy_plugs_in_by_name():
    plan = run(
        snapshot(path("A", "B", "C"), strategy="FixedWeights", settings={"value": 2.0}, maxTasksPerTransformation=4)
    )
    assert plan.weights == {T("A_B"): 0.5, T("B_C"): 0.5}


@pytest.mark.parametrize(
    "weights, words",
    [
        ({"A_B": -0.5, "B_C": 1.0}, "must be finite and >= 0"),
        ({"A_B": math.nan, "B_C": 1.0}, "must be finite and >= 0"),
        ({"A_B": math.inf, "B_C": 1.0}, "must be finite and >= 0"),
        ({"A_B": True, "B_C": 1.0}, "must be a number"),
        ({"A_B": 1.0}, "missing 1 transformation"),
        ({"A_B": 1.0, "B_C": 1.0, "X_Y": 1.0}, "not in the network"),
        ({"A_B": 0.0, "B_C": 0.0}, "every non-null weight is 0"),
    ],
)
def test_unusable_weights_raise_a_named_strategy_error(weights, words):
    FixedWeights.override = {T(k): v for k, v in weights.items()}
    try:
        with pytest.raises(StrategyError) as caught:
            run(snapshot(path("A", "B", "C"), strategy="FixedWeights"))
    finally:
        FixedWeights.override = None
    assert words in str(caught.value) and "FixedWeights" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_zero_and_none_weights_are_fine():
    FixedWeights.override = {T("A_B"): 0.0, T("B_C"): None, T("C_D"): 2.0}
    try:
        plan = run(snapshot(path("A", "B", "C", "D"), strategy="FixedWeights"))
    finally:
        FixedWeights.override = None
    assert plan.targets == {T("A_B"): 0, T("B_C"): 0, T("C_D"): 3}
