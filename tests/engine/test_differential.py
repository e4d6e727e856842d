"""The engine against an independent transcription of upstream's Strategist iteration (upstream_oracle).

Hypothesis draws random snapshots: multigraphs with self-loops, parallel and antiparallel
transformations, isolated systems and several components; random result counts; tasks in all
six statuses, actioned or not; both strategies with random valid settings (or none); every
mode and scaling, M from 1 to 10; awake and dormant states. The plans must agree exactly
(weights within 1e-12).
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strategy_operator.engine import Snapshot, StrategyError, plan_iteration

from .engine_helpers import SCOPE, system, transformation
from .upstream_oracle import oracle_plan

STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
ACTIONABLE = ("waiting", "running", "error")
unit_interval = st.floats(min_value=0.0, max_value=1.0, exclude_min=True, exclude_max=True)
rates = st.one_of(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9]), unit_interval)


@st.composite
def connectivity_settings(draw):
    settings: dict = {}
    if draw(st.booleans()):
        settings["decay_rate"] = draw(rates)
    stop = draw(st.sampled_from(["max_runs", "cutoff", "both"]))
    if stop in ("max_runs", "both"):
        settings["max_runs"] = draw(st.integers(1, 6))
    elif draw(st.booleans()):
        settings["max_runs"] = None
    if stop in ("cutoff", "both"):
        settings["cutoff"] = draw(st.one_of(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.5]), st.floats(0.01, 6.0)))
    elif draw(st.booleans()):
        settings["cutoff"] = None
    return settings


@st.composite
def radialgrowth_settings(draw):
    settings: dict = {}
    if draw(st.booleans()):
        settings["max_runs"] = draw(st.integers(1, 6))
    if draw(st.booleans()):
        settings["candidacy_max_distance"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        settings["decay_repeat_rate"] = draw(rates)
    if draw(st.booleans()):
        settings["decay_distance_rate"] = draw(rates)
    return settings


@st.composite
def snapshots(draw):
    # Shuffled names so that isolated systems and components sort anywhere among the keys.
    names = draw(st.permutations([f"s{i:02d}" for i in range(draw(st.integers(1, 12)))]))
    pair = st.tuples(st.sampled_from(names), st.sampled_from(names))
    pairs = draw(st.lists(pair, max_size=20))
    if draw(st.booleans()):  # a long chain through some systems: deep shells for RadialGrowth
        chain = names[: draw(st.integers(1, len(names)))]
        pairs += list(zip(chain, chain[1:]))
    if pairs and draw(st.booleans()):  # parallel and antiparallel twins of drawn transformations
        for a, b in draw(st.lists(st.sampled_from(pairs), max_size=4)):
            pairs.append(draw(st.sampled_from([(a, b), (b, a)])))
    transformations = [
        {
            "key": transformation(f"t{draw(st.integers(0, 999)):03d}x{i}"),
            "stateA": system(a),
            "stateB": system(b),
            "results": draw(st.integers(0, 5)),
        }
        for i, (a, b) in enumerate(pairs)
    ]
    tasks = []
    for t in transformations:
        for _ in range(draw(st.integers(0, 5))):
            status = draw(st.sampled_from(STATUSES + ("waiting", "running")))
            actioned = status in ACTIONABLE and draw(st.booleans())
            tasks.append(
                {
                    "key": f"Task-k{draw(st.integers(0, 99)):02d}n{len(tasks)}-{SCOPE}",
                    "transformation": t["key"],
                    "status": status,
                    "actioned": actioned,
                }
            )
    tasks = draw(st.permutations(tasks))

    name = draw(st.sampled_from(["ConnectivityStrategy", "RadialGrowthStrategy"]))
    strategy: dict = {"name": name}
    if draw(st.booleans()):
        strategy["settings"] = draw(
            connectivity_settings() if name == "ConnectivityStrategy" else radialgrowth_settings()
        )

    doc: dict = {"network": f"AlchemicalNetwork-n0-{SCOPE}", "strategy": strategy, "transformations": transformations}
    result_count = sum(t["results"] for t in transformations)
    state = draw(
        st.sampled_from(
            [
                None,
                {"status": "awake"},
                {"status": "awake", "lastIterationResultCount": result_count},
                {"status": "dormant", "lastIterationResultCount": result_count},
                {"status": "dormant", "lastIterationResultCount": result_count + 1},
                {"status": "dormant", "lastIterationResultCount": max(0, result_count - 1)},
                {"status": "dormant"},
            ]
        )
    )
    optional = {
        "mode": st.sampled_from(["partial", "full", "disabled"]),
        "taskScaling": st.sampled_from(["linear", "exponential"]),
        "maxTasksPerTransformation": st.integers(1, 10),
        "chemicalSystems": st.lists(st.sampled_from(names), unique=True).map(
            lambda chosen: [system(n) for n in chosen]
        ),
    }
    for field, values in optional.items():
        if draw(st.integers(0, 4)):  # mostly given, sometimes omitted (the defaults apply)
            doc[field] = draw(values)
    if state is not None:
        doc["state"] = state
    if tasks or draw(st.booleans()):
        doc["tasks"] = tasks
    return doc


def assert_plans_agree(doc) -> None:
    try:
        expected = oracle_plan(doc)
    except (ZeroDivisionError, OverflowError):  # upstream errors: resolve of all-0 weights, a boost beyond float range
        with pytest.raises(StrategyError):
            plan_iteration(Snapshot.model_validate(doc))
        return
    actual = plan_iteration(Snapshot.model_validate(doc)).to_json()
    assert set(actual) == set(expected)
    for field in ("ran", "status", "resultCount", "targets", "action", "create", "cancel"):
        assert actual[field] == expected[field], field
    assert set(actual["weights"]) == set(expected["weights"])
    for key, weight in expected["weights"].items():
        if weight is None:
            assert actual["weights"][key] is None, key
        else:
            assert actual["weights"][key] is not None and math.isclose(
                actual["weights"][key], weight, rel_tol=0, abs_tol=1e-12
            ), key
    for field in ("weights", "targets", "create"):
        assert list(actual[field]) == sorted(actual[field]), f"{field} keys are not sorted"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(snapshots())
@example(  # a path A-C-B with an isolated system D sorting after every other system
    {
        "network": f"AlchemicalNetwork-n0-{SCOPE}",
        "strategy": {"name": "RadialGrowthStrategy"},
        "chemicalSystems": [system("D")],
        "transformations": [
            {"key": transformation("A_C"), "stateA": system("A"), "stateB": system("C"), "results": 0},
            {"key": transformation("B_C"), "stateA": system("B"), "stateB": system("C"), "results": 0},
        ],
    }
)
def test_engine_agrees_with_the_upstream_oracle(doc):
    assert_plans_agree(doc)


def _long_component_doc(rng: random.Random, length: int) -> dict:
    """A path long enough for the engine's per-source eccentricity path, plus small extras."""
    names = [f"p{i:03d}" for i in range(length)]
    edges = [(a, b) for a, b in zip(names, names[1:])]
    edges += [("q0", "q1"), ("q1", "q2"), ("q1", "q1"), ("p005", "p006")]
    transformations = [
        {
            "key": transformation(f"t{i:03d}"),
            "stateA": system(a),
            "stateB": system(b),
            "results": rng.choice([0, 0, 0, 1, 3]),
        }
        for i, (a, b) in enumerate(edges)
    ]
    return {
        "network": f"AlchemicalNetwork-n0-{SCOPE}",
        "strategy": {"name": "RadialGrowthStrategy", "settings": {"candidacy_max_distance": rng.randint(1, 4)}},
        "taskScaling": "linear",
        "maxTasksPerTransformation": 10,
        "chemicalSystems": [system("a_isolated"), system("zz_isolated")],
        "transformations": transformations,
    }


@pytest.mark.parametrize("seed", range(5))
def test_long_networks_agree_with_the_upstream_oracle(seed):
    assert_plans_agree(_long_component_doc(random.Random(seed), 300))


def test_the_oracle_reproduces_the_worked_examples():
    """The oracle itself against docs/engine.md's worked examples (M = 6), so it is not only self-consistent."""
    from .engine_helpers import edge, path, snapshot, task

    T = transformation
    example_1 = path("A", "B", "C", "D", results={"B_C": 1})
    plan = oracle_plan(snapshot(example_1, maxTasksPerTransformation=6, taskScaling="linear"))
    assert plan["weights"] == {T("A_B"): 0.375, T("B_C"): 0.25, T("C_D"): 0.375}
    assert plan["targets"] == {T("A_B"): 3, T("B_C"): 2, T("C_D"): 3}
    assert oracle_plan(snapshot(example_1, maxTasksPerTransformation=6))["targets"] == {
        T("A_B"): 2,
        T("B_C"): 1,
        T("C_D"): 2,
    }
    free_running = [task("A_B", "waiting", True), task("A_B", "running", False)]
    plan = oracle_plan(snapshot(example_1, free_running, maxTasksPerTransformation=6, taskScaling="linear"))
    assert plan["action"] == [free_running[1]["key"]] and plan["create"][T("A_B")] == 1
    five = [task("A_B", "waiting", True) for _ in range(2)] + [task("A_B", "running", True) for _ in range(3)]
    plan = oracle_plan(snapshot(example_1, five, maxTasksPerTransformation=6, taskScaling="linear", mode="full"))
    assert plan["cancel"] == sorted(t["key"] for t in five[:2])

    example_2 = path("A", "B", "C", "D", results={"A_B": 2, "B_C": 1}) + [edge("D", "A", 3)]
    assert oracle_plan(snapshot(example_2, maxTasksPerTransformation=6, taskScaling="linear"))["targets"] == {
        T("A_B"): 1,
        T("B_C"): 2,
        T("C_D"): 4,
        T("D_A"): 0,
    }
    assert oracle_plan(snapshot(example_2, maxTasksPerTransformation=6))["targets"] == {
        T("A_B"): 1,
        T("B_C"): 1,
        T("C_D"): 3,
        T("D_A"): 0,
    }

    diamond = [edge("A", "B"), edge("B", "C"), edge("C", "D"), edge("D", "A"), edge("A", "C", 1)]
    plan = oracle_plan(
        snapshot(diamond, strategy="RadialGrowthStrategy", maxTasksPerTransformation=6, taskScaling="linear")
    )
    assert plan["weights"][T("A_C")] == pytest.approx(1 / 3) and plan["weights"][T("A_B")] == pytest.approx(1 / 6)
    assert plan["targets"] == {T("A_C"): 3, T("A_B"): 2, T("B_C"): 2, T("C_D"): 2, T("D_A"): 2}

    seven = path("A", "B", "C", "D", "E", "F", "G")  # canonical L = 3 (2.6b)
    weights = oracle_plan(snapshot(seven, strategy="RadialGrowthStrategy"))["weights"]
    assert weights == {T("A_B"): 0.0, T("B_C"): 0.0, T("C_D"): 0.5, T("D_E"): 0.5, T("E_F"): 0.0, T("F_G"): 0.0}

    parallel = [edge("A", "B", name="A_B_1"), edge("A", "B", name="A_B_2"), edge("B", "C")]  # 2.6a
    weights = oracle_plan(snapshot(parallel))["weights"]
    assert weights == pytest.approx({T("A_B_1"): 2.5 / 7, T("A_B_2"): 2.5 / 7, T("B_C"): 2.0 / 7})
