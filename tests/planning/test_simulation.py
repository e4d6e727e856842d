"""`simulate` on networks small enough to work out by hand, and its determinism."""

from __future__ import annotations

import json

import pytest

from strategy_operator.engine import Snapshot
from strategy_operator.engine.vocabulary import Mode, TaskScaling
from strategy_operator.planning import Choice, ComputeModel, Schedule, compare, needed_results, simulate

SCOPE = "acme-tyk2-run1"
NETWORK = f"AlchemicalNetwork-n1-{SCOPE}"


def edge_snapshot(edges: list[tuple[str, str]], strategy: dict | None = None) -> Snapshot:
    systems = sorted({s for edge in edges for s in edge})
    return Snapshot.model_validate(
        {
            "network": NETWORK,
            "strategy": strategy or {"name": "ConnectivityStrategy", "settings": {"max_runs": 3}},
            "chemicalSystems": [f"ChemicalSystem-{s}-{SCOPE}" for s in systems],
            "transformations": [
                {
                    "key": f"Transformation-{a}{b}-{SCOPE}",
                    "stateA": f"ChemicalSystem-{a}-{SCOPE}",
                    "stateB": f"ChemicalSystem-{b}-{SCOPE}",
                }
                for a, b in edges
            ],
        }
    )


# One claim per iteration exactly: 1/1024 tasks per second for 1024 s, in one step.
ONE_PER_ITERATION = ComputeModel(rate=1 / 1024, duration=0.0, seed=3)
SLOW = Schedule(sleep_interval=1024.0, step=1024.0, max_iterations=50)


def test_fast_compute_one_transformation_gets_max_tasks_and_wastes_the_surplus():
    base = edge_snapshot([("a", "b")])
    fast = ComputeModel(rate=1.0, duration=0.0, seed=1)
    few, many = compare(
        base,
        [Choice(Mode.partial, TaskScaling.exponential, 3), Choice(Mode.partial, TaskScaling.exponential, 10)],
        fast,
    )
    # Iteration 0 creates M tasks (the only weight is 1); all finish; iteration 1 finds 3+ results: dormant.
    assert (few.outcome, few.iterations, few.time) == ("dormant", 2, 3600.0)
    assert (few.tasks_created, few.tasks_wasted, few.surplus_results, few.peak_actioned) == (3, 0, 0, 3)
    assert few.results == {f"Transformation-ab-{SCOPE}": 3}
    assert (many.tasks_created, many.tasks_wasted, many.surplus_results, many.peak_actioned) == (10, 7, 7, 10)


def test_slow_compute_partial_mode_keeps_computing_after_dormant():
    # created 3 | 1 result; +1 | 2; +1 | 3; dormant (2 still actioned) | 4 wakes it; dormant | 5; dormant, idle.
    result = simulate(edge_snapshot([("a", "b")]), Choice(Mode.partial, TaskScaling.linear, 3), ONE_PER_ITERATION, SLOW)
    assert result.outcome == "dormant"
    assert [r.created for r in result.history] == [3, 1, 1, 0, 0, 0]
    assert [r.results for r in result.history] == [0, 1, 2, 3, 4, 5]
    assert [r.status for r in result.history] == ["awake", "awake", "awake", "dormant", "dormant", "dormant"]
    assert (result.iterations, result.time) == (6, 5 * 1024.0)
    assert (result.tasks_created, result.tasks_cancelled, result.tasks_wasted) == (5, 0, 2)
    assert (result.surplus_results, result.peak_actioned) == (2, 3)


def test_slow_compute_full_mode_cancels_what_is_left_when_dormant():
    result = simulate(edge_snapshot([("a", "b")]), Choice(Mode.full, TaskScaling.linear, 3), ONE_PER_ITERATION, SLOW)
    assert result.outcome == "dormant"
    assert [r.created for r in result.history] == [3, 1, 1, 0]
    assert [r.cancelled for r in result.history] == [0, 0, 0, 2]
    assert (result.iterations, result.time) == (4, 3 * 1024.0)
    # 5 created, 3 results needed and delivered, 2 cancelled before they ran: wasted.
    assert (result.tasks_created, result.tasks_cancelled, result.tasks_wasted, result.surplus_results) == (5, 2, 2, 0)
    assert result.history[-1].actioned_after == 0


def test_every_task_failing_stalls_with_the_transformation_blocked():
    always_fails = ComputeModel(rate=1.0, duration=0.0, failure_probability=1.0, seed=0)
    result = simulate(edge_snapshot([("a", "b")]), Choice(Mode.partial, TaskScaling.linear, 2), always_fails)
    assert result.outcome == "stalled"
    assert result.history[-1].blocked == 1
    assert (result.tasks_created, result.tasks_wasted, result.results) == (2, 2, {f"Transformation-ab-{SCOPE}": 0})


def test_needed_results_is_the_strategy_s_own_stop_point():
    base = edge_snapshot([("a", "b"), ("b", "c")], {"name": "ConnectivityStrategy", "settings": {"max_runs": 2}})
    ab, bc = (t.key for t in base.transformations)
    assert needed_results(base, {ab: 5, bc: 1}) == {ab: 2, bc: 1}
    # Results the network started with are not judged: the search stops there.
    assert needed_results(base, {ab: 5, bc: 1}, floor={ab: 4, bc: 0}) == {ab: 4, bc: 1}
    assert needed_results(base, {ab: 5, bc: 1}, floor={ab: 5, bc: 1}) == {ab: 5, bc: 1}


def test_a_network_with_results_already_counts_only_what_the_simulation_adds():
    base = edge_snapshot([("a", "b")])
    document = base.model_dump(mode="json", by_alias=True)
    document["transformations"][0]["results"] = 5  # already beyond max_runs 3
    document["state"] = {"status": "awake", "lastIterationResultCount": 0}
    result = simulate(
        Snapshot.model_validate(document), Choice(Mode.partial, TaskScaling.linear, 3), ONE_PER_ITERATION, SLOW
    )
    assert (result.outcome, result.iterations, result.tasks_created) == ("dormant", 1, 0)
    assert (result.surplus_results, result.tasks_wasted) == (0, 0)


def test_the_same_seed_gives_the_same_figures_and_another_seed_other_ones():
    edges = [(a, b) for a, b in zip("abcdefgh", "bcdefgha", strict=True)] + [("a", "e"), ("c", "g")]
    base = edge_snapshot(edges, {"name": "RadialGrowthStrategy"})
    choices = [Choice(Mode.partial, TaskScaling.exponential, 4), Choice(Mode.full, TaskScaling.linear, 4)]
    schedule = Schedule(sleep_interval=600, step=30)

    def run(seed: int) -> str:
        model = ComputeModel(rate=0.01, duration=400, failure_probability=0.1, seed=seed)
        return json.dumps([r.to_json() for r in compare(base, choices, model, schedule)], sort_keys=True)

    assert run(5) == run(5)
    assert run(5) != run(6)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("rate", {"rate": 0}), ("duration", {"duration": -1}), ("failure_probability", {"failure_probability": 1.5})],
)
def test_compute_settings_are_checked(field, kwargs):
    with pytest.raises(ValueError, match=field):
        ComputeModel(**kwargs)


def test_disabled_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="mode: a disabled strategy never acts"):
        Choice(Mode.disabled, TaskScaling.linear, 3)
