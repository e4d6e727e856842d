"""The snapshot format's validation, and `strategy-operator plan` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from strategy_operator.engine import Snapshot
from strategy_operator.validation import describe

from .engine_helpers import path, snapshot, task


def problems(doc) -> str:
    with pytest.raises(ValidationError) as caught:
        Snapshot.model_validate(doc)
    return describe(caught.value)


def test_defaults_follow_plan_format():
    parsed = Snapshot.model_validate(snapshot(path("A", "B")))
    assert (parsed.mode.value, parsed.task_scaling.value, parsed.max_tasks_per_transformation) == (
        "partial",
        "exponential",
        3,
    )
    assert (parsed.state.status, parsed.state.last_iteration_result_count) == ("awake", 0)


def _bad(mutate):
    doc = snapshot(path("A", "B"), [task("A_B", "running", True)])
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.update(network="Transformation-x-acme-tyk2-run1"), "network"),
        (lambda d: d.update(mode="fast"), "mode"),
        (lambda d: d.update(taskScaling="square"), "taskScaling"),
        (lambda d: d.update(maxTasksPerTransformation=0), "maxTasksPerTransformation"),
        (lambda d: d.update(maxTasksPerTransformation="3"), "maxTasksPerTransformation"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d.update(state={"status": "error"}), "state.status"),
        (lambda d: d.update(state={"lastIterationResultCount": -1}), "state.lastIterationResultCount"),
        (lambda d: d["transformations"][0].update(results=True), "transformations[0].results"),
        (lambda d: d["transformations"][0].update(results=-1), "transformations[0].results"),
        # Counts are int64 in alchemiscale and Kubernetes; bigger ones crashed RadialGrowth's arrays.
        (lambda d: d["transformations"][0].update(results=2**63), "transformations[0].results"),
        (lambda d: d.update(state={"lastIterationResultCount": 2**63}), "state.lastIterationResultCount"),
        (lambda d: d.update(maxTasksPerTransformation=2**63), "maxTasksPerTransformation"),
        (lambda d: d["transformations"][0].update(stateA="nonsense"), "transformations[0].stateA"),
        (lambda d: d["transformations"].append(dict(d["transformations"][0])), "transformations[1].key"),
        (lambda d: d["tasks"][0].update(transformation="Transformation-zz-acme-tyk2-run1"), "tasks[0].transformation"),
        (lambda d: d["tasks"][0].update(status="complete"), "tasks[0].actioned"),
        (lambda d: d["tasks"][0].update(status="paused"), "tasks[0].status"),
        (lambda d: d["tasks"][0].update(actioned="yes"), "tasks[0].actioned"),
        (lambda d: d["tasks"].append(dict(d["tasks"][0])), "tasks[1].key"),
        (lambda d: d.update(strategy={"name": "Nope"}), "strategy.name"),
        (
            lambda d: d.update(strategy={"name": "ConnectivityStrategy", "settings": {"max_runs": 0}}),
            "strategy.settings.max_runs",
        ),
        (lambda d: d.update(strategy={"name": "ConnectivityStrategy", "settings": {}}), "max_runs or cutoff"),
        (
            lambda d: d.update(strategy={"name": "RadialGrowthStrategy", "settings": {"cutoff": 1}}),
            "strategy.settings.cutoff",
        ),
        (lambda d: d.update(chemicalSystems=["bad key"]), "chemicalSystems[0]"),
        # A trailing newline is not part of any key (Python's `$` would let it through).
        (lambda d: d.update(network=d["network"] + "\n"), "network"),
        (lambda d: d.update(chemicalSystems=["ChemicalSystem-a-acme-tyk2-run1\n"]), "chemicalSystems[0]"),
        (
            lambda d: d["transformations"][0].update(stateB=d["transformations"][0]["stateB"] + "\n"),
            "transformations[0].stateB",
        ),
        (lambda d: d["tasks"][0].update(key=d["tasks"][0]["key"] + "\n"), "tasks[0].key"),
    ],
)
def test_rejections_name_the_field(mutate, field):
    assert field in problems(_bad(mutate))


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "strategy_operator.cli", "plan", *args], input=stdin, capture_output=True, text=True
    )


def test_plan_command_prints_the_plan(tmp_path):
    doc = snapshot(path("A", "B"), [task("A_B", "running", True)])
    file = tmp_path / "snapshot.json"
    file.write_text(json.dumps(doc))
    result = _cli(str(file))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert list(plan) == ["ran", "status", "resultCount", "weights", "targets", "action", "create", "cancel"]
    assert plan["create"] == {doc["transformations"][0]["key"]: 2}
    assert json.loads(_cli("-", stdin=json.dumps(doc)).stdout) == plan


@pytest.mark.parametrize(
    "stdin, words",
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps(snapshot(path("A", "B"), maxTasksPerTransformation=0)), "maxTasksPerTransformation"),
        (
            json.dumps(snapshot(path("A", "B", results={"A_B": 2**64}), strategy="RadialGrowthStrategy")),
            "transformations[0].results",
        ),
    ],
)
def test_bad_input_exits_2_with_nothing_on_stdout(stdin, words):
    result = _cli("-", stdin=stdin)
    assert result.returncode == 2 and result.stdout == "" and words in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = _cli(str(tmp_path / "absent.json"))
    assert result.returncode == 2 and result.stdout == "" and "cannot read" in result.stderr


def test_strategy_failure_exits_1_with_nothing_on_stdout():
    doc = snapshot(
        path("a", "b", "c", "d", results={"a_b": 1, "b_c": 1}),
        strategy="RadialGrowthStrategy",
        settings={"decay_distance_rate": 1e-200},
    )
    result = _cli("-", stdin=json.dumps(doc))
    assert result.returncode == 1 and result.stdout == "" and "strategy failed" in result.stderr
    assert "decay_distance_rate" in result.stderr and "Traceback" not in result.stderr
