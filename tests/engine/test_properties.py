"""Property-based tests of one iteration (hypothesis): the invariants of docs/engine.md ("Weights to target counts" to "Going dormant")."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_operator.engine import Plan, Snapshot, plan_iteration

from .engine_helpers import SCOPE, system, transformation

ACTIONABLE = ("waiting", "running", "error")
STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")


@st.composite
def snapshots(draw):
    names = [f"s{i}" for i in range(draw(st.integers(1, 7)))]
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=10))
    transformations = [
        {"key": transformation(f"t{i}"), "stateA": system(a), "stateB": system(b), "results": draw(st.integers(0, 4))}
        for i, (a, b) in enumerate(pairs)
    ]
    tasks = []
    for t in transformations:
        for _ in range(draw(st.integers(0, 4))):
            status = draw(st.sampled_from(STATUSES + ("waiting", "running")))
            actioned = status in ACTIONABLE and draw(st.booleans())
            tasks.append(
                {
                    "key": f"Task-k{len(tasks)}-{SCOPE}",
                    "transformation": t["key"],
                    "status": status,
                    "actioned": actioned,
                }
            )
    name = draw(st.sampled_from(["ConnectivityStrategy", "RadialGrowthStrategy"]))
    strategy: dict = {"name": name}
    if draw(st.booleans()):
        if name == "ConnectivityStrategy":
            strategy["settings"] = {
                "max_runs": draw(st.integers(1, 4)),
                "decay_rate": draw(st.sampled_from([0.1, 0.5, 0.9])),
            }
        else:
            strategy["settings"] = {
                "max_runs": draw(st.integers(1, 4)),
                "candidacy_max_distance": draw(st.integers(1, 3)),
            }
    result_count = sum(t["results"] for t in transformations)
    state = draw(
        st.sampled_from(
            [
                {"status": "awake"},
                {"status": "dormant", "lastIterationResultCount": result_count},
                {"status": "dormant", "lastIterationResultCount": result_count + 1},
            ]
        )
    )
    return {
        "network": f"AlchemicalNetwork-n0-{SCOPE}",
        "strategy": strategy,
        "mode": draw(st.sampled_from(["partial", "full", "disabled"])),
        "taskScaling": draw(st.sampled_from(["linear", "exponential"])),
        "maxTasksPerTransformation": draw(st.integers(1, 6)),
        "state": state,
        "chemicalSystems": [system(n) for n in names],
        "transformations": transformations,
        "tasks": tasks,
    }


def plan_of(doc) -> Plan:
    return plan_iteration(Snapshot.model_validate(doc))


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(snapshots())
def test_targets_never_exceed_the_maximum(doc):
    plan = plan_of(doc)
    assert all(0 <= target <= doc["maxTasksPerTransformation"] for target in plan.targets.values())
    assert all(count <= doc["maxTasksPerTransformation"] for count in plan.create.values())


@FAST
@given(snapshots())
def test_partial_and_disabled_never_cancel(doc):
    plan = plan_of(doc)
    if doc["mode"] != "full":
        assert plan.cancel == []
    if doc["mode"] == "disabled":
        assert not plan.ran and plan.action == [] and plan.create == {}


@FAST
@given(snapshots())
def test_actions_are_unique_actionable_and_disjoint_from_cancels(doc):
    plan = plan_of(doc)
    tasks = {t["key"]: t for t in doc["tasks"]}
    assert len(plan.action) == len(set(plan.action))
    assert len(plan.cancel) == len(set(plan.cancel))
    for key in plan.action:
        assert not tasks[key]["actioned"] and tasks[key]["status"] in ("waiting", "running")
    for key in plan.cancel:
        assert tasks[key]["actioned"]
    assert not set(plan.action) & set(plan.cancel)


def _shuffled(doc, rng, shuffle_tasks):
    out = dict(doc)
    out["transformations"] = rng.sample(doc["transformations"], len(doc["transformations"]))
    out["chemicalSystems"] = rng.sample(doc["chemicalSystems"], len(doc["chemicalSystems"]))
    if shuffle_tasks:
        out["tasks"] = rng.sample(doc["tasks"], len(doc["tasks"]))
    return out


def _choice_profile(plan: Plan, doc) -> Counter:
    tasks = {t["key"]: t for t in doc["tasks"]}
    return Counter(
        [("action", tasks[k]["transformation"], tasks[k]["status"]) for k in plan.action]
        + [("cancel", tasks[k]["transformation"], tasks[k]["status"]) for k in plan.cancel]
    )


@FAST
@given(snapshots(), st.randoms(use_true_random=False))
def test_identical_snapshots_give_identical_plans_whatever_the_order(doc, rng):
    plan = plan_of(doc)
    # Order of transformations and systems changes nothing at all.
    assert plan_of(_shuffled(doc, rng, shuffle_tasks=False)).to_json() == plan.to_json()
    # Tasks' listed order only decides which of several equal tasks is picked (documented tie-break).
    reordered = plan_of(_shuffled(doc, rng, shuffle_tasks=True))
    same = ("ran", "status", "resultCount", "weights", "targets", "create")
    assert {k: reordered.to_json()[k] for k in same} == {k: plan.to_json()[k] for k in same}
    assert _choice_profile(reordered, doc) == _choice_profile(plan, doc)


def _apply(doc, plan: Plan):
    tasks = [dict(t) for t in doc["tasks"]]
    for t in tasks:
        if t["key"] in plan.action:
            t["actioned"] = True
        if t["key"] in plan.cancel:
            t["actioned"] = False
    for key, count in plan.create.items():
        for _ in range(count):
            tasks.append(
                {"key": f"Task-new{len(tasks)}-{SCOPE}", "transformation": key, "status": "waiting", "actioned": True}
            )
    state = {"status": plan.status, "lastIterationResultCount": plan.result_count}
    return {**doc, "tasks": tasks, "state": state}


@FAST
@given(snapshots())
def test_applying_a_plan_converges(doc):
    plan = plan_of(doc)
    if not plan.ran:
        return
    after = _apply(doc, plan)
    again = plan_of({**after, "state": {"status": "awake"}})
    assert again.action == [] and again.create == {}
    if doc["mode"] == "full":
        assert again.cancel == []
    # partial: actioned >= target; full: actioned == target unless held up by errored actioned tasks
    actioned = Counter(t["transformation"] for t in after["tasks"] if t["actioned"])
    errored = Counter(t["transformation"] for t in after["tasks"] if t["actioned"] and t["status"] == "error")
    for key, target in plan.targets.items():
        assert actioned[key] >= target
        if doc["mode"] == "full":
            assert actioned[key] == max(target, errored[key])
