"""The committed CustomResourceDefinition is a fresh render of the models, and structural."""

from __future__ import annotations

import subprocess
import sys

import yaml

from strategy_operator.api import crd
from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator_dev.repo import repo_root


def test_committed_copies_are_fresh():
    assert crd.stale_paths(repo_root()) == [], "run `make crd` (strategy-operator crd --write) and commit the result"


def test_check_command_reports_staleness(tmp_path):
    cmd = [sys.executable, "-m", "strategy_operator.cli", "crd", "--check", "--root", str(tmp_path)]
    assert subprocess.run(cmd, capture_output=True).returncode == 1
    assert subprocess.run(cmd[:-3] + ["--write", "--root", str(tmp_path)], capture_output=True).returncode == 0
    assert subprocess.run(cmd, capture_output=True).returncode == 0


def _walk(schema, path="$"):
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if "items" in schema:
        yield from _walk(schema["items"], f"{path}[]")


def test_schema_is_structural_and_documented():
    doc = yaml.safe_load(crd.render_yaml())
    version = doc["spec"]["versions"][0]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    assert doc["spec"]["names"]["shortNames"] == ["nstrat"]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Network",
        "Mode",
        "Status",
        "Iterations",
        "Last Iteration",
        "Age",
    ]
    root = version["schema"]["openAPIV3Schema"]
    for path, node in _walk(root["properties"]["spec"]):
        assert "type" in node, path
        assert node.get("description"), f"{path} has no description"
        assert not {"$ref", "anyOf", "oneOf", "additionalProperties", "title"} & node.keys(), path
        # The one free-form map: a class named by import path has its own settings keys,
        # validated by its own settings model (the built-ins' settings stay typed).
        assert ("x-kubernetes-preserve-unknown-fields" in node) == (path == "$.strategy.classSettings"), path
    for path, node in _walk(root["properties"]["status"]):
        assert "type" in node, path
        assert not {"$ref", "anyOf", "title"} & node.keys(), path


def test_status_schema_declares_every_status_field():
    status = yaml.safe_load(crd.render_yaml())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "status"
    ]
    declared = set(status["properties"])
    expected = {field.alias or name for name, field in NetworkStrategyStatus.model_fields.items()}
    assert expected <= declared
    assert {
        "status",
        "iterations",
        "lastIteration",
        "lastIterationResultCount",
        "exception",
        "traceback",
        "observedGeneration",
        "conditions",
        "lastIterationSummary",
        "lastWakeToken",
        "nextIteration",
        "effectiveSleepInterval",
    } <= declared


def test_settings_keys_are_restricted_per_strategy_by_cel():
    strategy = yaml.safe_load(crd.render_yaml())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]["properties"]["strategy"]
    rules = {rule["fieldPath"]: rule for rule in strategy["x-kubernetes-validations"]}
    assert "candidacy_max_distance" in rules[".settings.candidacy_max_distance"]["message"]
    assert "max_runs or cutoff" in rules[".settings"]["message"]
    assert set(strategy["properties"]["settings"]["properties"]) == {
        "max_runs",
        "cutoff",
        "decay_rate",
        "candidacy_max_distance",
        "decay_repeat_rate",
        "decay_distance_rate",
    }
