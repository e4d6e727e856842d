"""The bounds on the numbers a resource author sets, enforced by the engine and the models themselves.

The CRD carries the same bounds (checked against a real API server in `test_crd_apiserver.py`);
these make sure a snapshot file or a spec that never went through admission is refused too, with
the field named, and that the per-iteration creation cap spreads a plan instead of refusing it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from strategy_operator.api.v1alpha1 import NetworkStrategySpec
from strategy_operator.engine import Snapshot, plan_iteration
from strategy_operator.engine.iteration import cap_creation
from strategy_operator.engine.vocabulary import MAX_SLEEP_INTERVAL, MAX_TASKS_PER_TRANSFORMATION
from strategy_operator.validation import describe

from .engine_helpers import edge, path, snapshot, task, transformation

NETWORK = "AlchemicalNetwork-0a1b2c-acme-tyk2-run1"


def _cli(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strategy_operator.cli", "plan", "-"], input=stdin, capture_output=True, text=True
    )


@pytest.mark.parametrize("value", [MAX_TASKS_PER_TRANSFORMATION + 1, 20000, 2**63 - 1, 2**64])
def test_snapshot_refuses_too_many_tasks_per_transformation(value):
    with pytest.raises(ValidationError) as caught:
        Snapshot.model_validate(snapshot(path("A", "B"), maxTasksPerTransformation=value))
    message = describe(caught.value)
    assert "maxTasksPerTransformation" in message and str(MAX_TASKS_PER_TRANSFORMATION) in message, message


def test_the_largest_allowed_value_plans():
    plan = plan_iteration(
        Snapshot.model_validate(snapshot(path("A", "B"), maxTasksPerTransformation=MAX_TASKS_PER_TRANSFORMATION))
    )
    assert plan.create == {transformation("A_B"): MAX_TASKS_PER_TRANSFORMATION}


@pytest.mark.parametrize("field, value", [("maxTasksPerTransformation", 101), ("maxTasksCreated", -1)])
def test_plan_command_exits_2_naming_the_field(field, value):
    result = _cli(json.dumps(snapshot(path("A", "B"), **{field: value})))
    assert result.returncode == 2
    assert result.stdout == ""
    assert field in result.stderr, result.stderr


@pytest.mark.parametrize(
    "field, value, bound",
    [
        ("maxTasksPerTransformation", MAX_TASKS_PER_TRANSFORMATION + 1, MAX_TASKS_PER_TRANSFORMATION),
        ("sleepInterval", MAX_SLEEP_INTERVAL + 1, MAX_SLEEP_INTERVAL),
        ("sleepInterval", 2**63 - 1, MAX_SLEEP_INTERVAL),
    ],
)
def test_spec_model_refuses_out_of_range_values(field, value, bound):
    with pytest.raises(ValidationError) as caught:
        NetworkStrategySpec.model_validate(
            {"network": NETWORK, "strategy": {"name": "ConnectivityStrategy"}, field: value}
        )
    message = describe(caught.value, "spec")
    assert f"spec.{field}" in message and str(bound) in message, message


def test_spec_model_accepts_the_largest_values():
    spec = NetworkStrategySpec.model_validate(
        {
            "network": NETWORK,
            "strategy": {"name": "ConnectivityStrategy"},
            "maxTasksPerTransformation": MAX_TASKS_PER_TRANSFORMATION,
            "sleepInterval": MAX_SLEEP_INTERVAL,
        }
    )
    assert (spec.max_tasks_per_transformation, spec.sleep_interval) == (
        MAX_TASKS_PER_TRANSFORMATION,
        MAX_SLEEP_INTERVAL,
    )


def test_cap_creation_is_breadth_first_and_exact():
    kept, deferred = cap_creation({"c": 5, "a": 1, "b": 3}, 6)
    # Round 1 gives a, b, c one each; round 2 gives b and c one each; the sixth goes to b (key order).
    assert kept == {"a": 1, "b": 3, "c": 2}
    assert deferred == {"c": 3}
    assert cap_creation({"a": 2}, None) == ({"a": 2}, {})
    assert cap_creation({"a": 2, "b": 1}, 3) == ({"a": 2, "b": 1}, {})
    assert cap_creation({"a": 2}, 0) == ({}, {"a": 2})


def test_cap_creation_with_huge_counts_is_fast():
    wanted = {f"t{i:05d}": 10**12 for i in range(6000)}
    kept, deferred = cap_creation(wanted, 1000)
    assert sum(kept.values()) == 1000 and len(kept) == 1000
    assert sum(deferred.values()) == 6000 * 10**12 - 1000


def test_capped_plan_defers_the_rest_and_says_so():
    edges = [edge("A", "B"), edge("B", "C"), edge("C", "D")]
    doc = snapshot(edges, [task("A_B", "waiting", False)], maxTasksPerTransformation=10, maxTasksCreated=4)
    uncapped = plan_iteration(Snapshot.model_validate({**doc, "maxTasksCreated": None}))
    plan = plan_iteration(Snapshot.model_validate(doc))
    # Actioning existing tasks is never held back; only creation is.
    assert plan.action == uncapped.action
    assert sum(plan.create.values()) == 4
    assert sum(plan.create.values()) + plan.summary.tasks_deferred == sum(uncapped.create.values())
    assert {k: plan.create.get(k, 0) + plan.deferred.get(k, 0) for k in uncapped.create} == uncapped.create
    assert plan.to_json()["deferred"] == plan.deferred
    assert "deferred" not in uncapped.to_json()
