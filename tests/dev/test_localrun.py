"""`make run` (strategy_operator_dev.localrun): the demo's pieces, then the whole demo.

The end-to-end tests run the real thing as a subprocess: the API server (the session's, or
its own), the sandbox with simulated compute, the operator and the examples, until every
strategy is dormant, and Ctrl-C, which must leave nothing running and no finalizer behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from strategy_operator_dev import localrun
from strategy_operator_dev.controlplane import ControlPlane
from tests.chart.chart_helpers import REPO_ROOT

NETWORKS = [f"AlchemicalNetwork-n{i}-acme-tyk2-run{i}" for i in range(1, 6)]


def test_examples_are_pointed_at_the_sandbox() -> None:
    strategies = localrun.demo_strategies(
        REPO_ROOT / "examples",
        NETWORKS,
        namespace="demo",
        server_url="http://127.0.0.1:9",
        credentials_secret="creds",
        sleep_interval=3,
    )
    examples = [d for p in sorted((REPO_ROOT / "examples").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    assert len(strategies) == len(examples) >= 1
    assert [s["spec"]["network"] for s in strategies] == NETWORKS[: len(strategies)]
    for strategy, example in zip(strategies, examples):
        assert strategy["metadata"]["name"] == example["metadata"]["name"]
        assert strategy["metadata"]["namespace"] == "demo"
        assert strategy["spec"]["server"] == {"url": "http://127.0.0.1:9", "credentialsSecret": "creds"}
        assert strategy["spec"]["sleepInterval"] == 3
        # Everything else is the example's own: strategy, settings, mode, scaling.
        for field in ("strategy", "mode", "taskScaling", "maxTasksPerTransformation"):
            assert strategy["spec"].get(field) == example["spec"].get(field)
    assert examples[0]["spec"]["network"] != NETWORKS[0], "the examples themselves stay untouched"


def test_more_examples_than_networks_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(localrun.LocalRunError, match="only 1 sandbox networks"):
        localrun.demo_strategies(
            REPO_ROOT / "examples",
            NETWORKS[:1],
            namespace="d",
            server_url="http://x",
            credentials_secret="c",
            sleep_interval=1,
        )


def test_progress_table_shows_status_iterations_tasks_and_errors() -> None:
    resources = [
        {
            "metadata": {"name": "b"},
            "spec": {"network": "N2", "strategy": {"name": "RadialGrowthStrategy"}, "mode": "full"},
            "status": {"status": "error", "iterations": 2, "exception": {"type": "StrategyError", "message": "bad"}},
        },
        {
            "metadata": {"name": "a"},
            "spec": {"network": "N1", "strategy": {"name": "ConnectivityStrategy"}},
            "status": {
                "status": "awake",
                "iterations": 4,
                "lastIterationResultCount": 7,
                "lastIterationSummary": {"tasksCreated": 3, "tasksActioned": 1, "tasksCancelled": 0},
            },
        },
    ]
    rows = localrun.progress_rows(resources, {"N1": {"waiting": 1, "running": 2, "complete": 7, "error": 0}})
    assert [r.name for r in rows] == ["a", "b"]
    table = localrun.render_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STRATEGY", "MODE", "STATUS"]
    assert re.search(
        r"^a\s+ConnectivityStrategy\s+partial\s+awake\s+4\s+7\s+1/2/7/0\s+created 3, actioned 1, cancelled 0", lines[1]
    )
    assert re.search(r"^b\s+RadialGrowthStrategy\s+full\s+error\s+2\s+-\s+0/0/0/0", lines[2])
    assert "b: StrategyError: bad" in table
    assert not localrun.all_dormant(rows)
    assert localrun.all_dormant(
        localrun.progress_rows([{"metadata": {"name": "a"}, "spec": {}, "status": {"status": "dormant"}}], {})
    )
    assert not localrun.all_dormant([])


def test_cluster_choice_comes_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = __import__("argparse").ArgumentParser()
    localrun.add_arguments(parser)
    monkeypatch.delenv("STRATEGY_OPERATOR_DEMO_CLUSTER", raising=False)
    monkeypatch.delenv("CLUSTER", raising=False)
    assert localrun.options_from(parser.parse_args([])).cluster == "local"
    monkeypatch.setenv("CLUSTER", "current")
    assert localrun.options_from(parser.parse_args([])).cluster == "current"
    assert localrun.options_from(parser.parse_args(["--cluster", "local"])).cluster == "local"
    monkeypatch.setenv("CLUSTER", "kind")
    with pytest.raises(localrun.LocalRunError, match="'kind' is neither"):
        localrun.options_from(parser.parse_args([]))


def test_current_cluster_that_is_unreachable_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "missing-kubeconfig"), "CLUSTER": "current"}
    result = subprocess.run(
        [sys.executable, "-m", "strategy_operator_dev.localrun", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--cluster current: the current kubeconfig (no current context) is not reachable" in result.stderr


def _localrun(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "strategy_operator_dev.localrun", "--refresh", "0.5", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.mark.e2e
def test_demo_on_the_current_cluster_runs_until_dormant_and_cleans_up(
    control_plane: ControlPlane, namespace: str, kubectl, tmp_path: Path
) -> None:
    env = {**os.environ, "KUBECONFIG": str(control_plane.kubeconfig)}
    process = _localrun(
        "--cluster",
        "current",
        "--namespace",
        namespace,
        "--exit-when-dormant",
        "--timeout",
        "240",
        "--workdir",
        str(tmp_path),
        env=env,
    )
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    assert "Using your current context" in output
    assert re.search(r"All \d+ strategies are dormant", output), output
    operator_pid = int(re.search(r"Operator started \(pid (\d+)\)", output).group(1))
    assert not _pid_alive(operator_pid)
    # Deleted while the operator ran: no NetworkStrategy is left hanging on a finalizer.
    left = json.loads(kubectl("get", "networkstrategies", "-o", "json").stdout)["items"]
    assert left == []
    # On someone else's cluster the demo leaves no Secret behind either.
    assert kubectl("get", "secret", localrun.DEMO_SECRET, check=False).returncode != 0


@pytest.mark.e2e
def test_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CLUSTER", "STRATEGY_OPERATOR_DEMO_CLUSTER")}
    process = _localrun("--cluster", "local", "--workdir", str(tmp_path), env=env)
    lines: list[str] = []
    deadline = time.monotonic() + 180
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(r"ITER", line) and any("Applied" in seen for seen in lines):
            break
    output = "".join(lines)
    assert "Applied" in output, output
    operator_pid = int(re.search(r"Operator started \(pid (\d+)\)", output).group(1))
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output + rest
    assert "Stopping: deleting the strategies" in rest
    assert not _pid_alive(operator_pid)
    # The local control plane is gone too: its etcd data directory is removed on stop.
    assert not (tmp_path / "controlplane" / "etcd-data").exists()
