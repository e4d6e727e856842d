"""`strategy-operator snapshot` against the sandbox, and its output fed to `plan`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .alchemiscale_helpers import ALICE_KEY, SCOPE


def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALCHEMISCALE_")}
    return subprocess.run(
        [sys.executable, "-m", "strategy_operator.cli", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_snapshot_with_credentials_from_env_then_plan(sandbox, tmp_path) -> None:
    network = sandbox.state.generate_network(shape="star", systems=4, scope=SCOPE, seed=3)
    result = _run(
        "snapshot",
        "--server",
        sandbox.url,
        "--network",
        network,
        "--mode",
        "full",
        "--task-scaling",
        "linear",
        "--max-tasks-per-transformation",
        "2",
        "--settings",
        '{"max_runs": 2}',
        env={"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": ALICE_KEY},
    )
    assert result.returncode == 0, result.stderr
    assert ALICE_KEY not in result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["network"] == network
    assert document["strategy"] == {"name": "ConnectivityStrategy", "settings": {"max_runs": 2}}
    assert (document["mode"], document["taskScaling"], document["maxTasksPerTransformation"]) == ("full", "linear", 2)
    assert len(document["transformations"]) == 3 and document["tasks"] == []

    snapshot_file = tmp_path / "snap.json"
    snapshot_file.write_text(result.stdout)
    planned = _run("plan", str(snapshot_file))
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert sum(plan["create"].values()) > 0 and plan["ran"] is True


def test_snapshot_with_a_credentials_file(sandbox, tmp_path) -> None:
    network = sandbox.state.generate_network(shape="path", systems=3, scope=SCOPE)
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text(f"identifier: alice\nkey: {ALICE_KEY}\n")
    result = _run("snapshot", "--server", sandbox.url, "--network", network, "--credentials-file", str(credentials))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["network"] == network


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (
            ["--network", "AlchemicalNetwork-abc-acme-tyk2"],
            {"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": ALICE_KEY},
            2,
            "five",
        ),
        ([], {}, 2, "ALCHEMISCALE_IDENTIFIER"),
        ([], {"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": "wrong"}, 1, "InvalidCredentials"),
        (
            ["--network", f"AlchemicalNetwork-{'0' * 32}-{SCOPE}"],
            {"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": ALICE_KEY},
            1,
            "NetworkNotFound",
        ),
    ],
)
def test_snapshot_errors_are_clear(sandbox, args, env, code, message) -> None:
    network = sandbox.state.generate_network(shape="star", systems=3, scope=SCOPE)
    argv = ["snapshot", "--server", sandbox.url, "--network", network, *args]
    result = _run(*argv, env=env)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stdout == ""
    assert ALICE_KEY not in result.stderr


def test_snapshot_with_a_dormant_state(sandbox) -> None:
    network = sandbox.state.generate_network(shape="star", systems=3, scope=SCOPE, seed=5)
    env = {"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": ALICE_KEY}
    result = _run("snapshot", "--server", sandbox.url, "--network", network, "--state-status", "dormant", env=env)
    assert json.loads(result.stdout)["state"] == {"status": "dormant", "lastIterationResultCount": 0}
    result = _run(
        "snapshot",
        "--server",
        sandbox.url,
        "--network",
        network,
        "--state-status",
        "dormant",
        "--last-iteration-result-count",
        "7",
        env=env,
    )
    assert json.loads(result.stdout)["state"] == {"status": "dormant", "lastIterationResultCount": 7}
