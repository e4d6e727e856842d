"""`strategy-operator simulate` end to end: inputs, the table, --json, --plot, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from strategy_operator.cli import main

SCOPE = "acme-tyk2-run1"
NETWORK_DOC = """
name: tiny
systems: [a, b, c, d]
transformations:
  - {stateA: a, stateB: b}
  - {stateA: b, stateB: c}
  - {stateA: c, stateB: d}
  - {stateA: d, stateB: a}
"""


@pytest.fixture
def network_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(NETWORK_DOC)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_network_document_compares_every_combination(capsys, network_file):
    code, out, err = run(
        capsys,
        str(network_file),
        "--scope",
        SCOPE,
        "--mode",
        "partial,full",
        "--scaling",
        "linear,exponential",
        "--max-tasks",
        "3,6",
        "--json",
        "--seed",
        "2",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["transformations"] == 4
    combos = [(c["mode"], c["taskScaling"], c["maxTasksPerTransformation"]) for c in document["choices"]]
    assert combos == [(m, s, n) for m in ("partial", "full") for s in ("linear", "exponential") for n in (3, 6)]
    for choice in document["choices"]:
        assert choice["outcome"] == "dormant"
        assert choice["resultsPerTransformation"]["min"] >= 3  # ConnectivityStrategy's default max_runs
        assert choice["tasksWasted"] <= choice["tasksCreated"]
        assert "history" not in choice


def test_a_snapshot_file_keeps_its_settings_and_the_table_shows_them(capsys, tmp_path, network_file):
    code, out, _ = run(capsys, str(network_file), "--scope", SCOPE, "--json", "--history")
    snapshot = json.loads(out)
    assert code == 0 and snapshot["choices"][0]["history"][0]["iteration"] == 0
    from strategy_operator.planning.command import read_file

    doc = read_file(str(network_file), SCOPE)
    doc.update(
        mode="full", taskScaling="linear", maxTasksPerTransformation=5, strategy={"name": "RadialGrowthStrategy"}
    )
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(doc))
    code, out, err = run(capsys, str(snap))
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[:2] == ["choice", "outcome"]
    assert row.startswith("full/linear/max 5  dormant")


def test_the_command_is_deterministic_across_processes(network_file):
    argv = [
        sys.executable,
        "-m",
        "strategy_operator",
        "simulate",
        str(network_file),
        "--scope",
        SCOPE,
        "--failure-probability",
        "0.2",
        "--rate",
        "20",
        "--json",
        "--history",
        "--seed",
        "9",
    ]
    first = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    second = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    assert first.stdout == second.stdout and json.loads(first.stdout)["choices"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-tasks", "3,0"], "max_tasks_per_transformation: must be >= 1"),
        (["--mode", "disabled"], "disabled strategy never acts"),
        (["--rate", "0"], "--rate: must be > 0 tasks per hour"),
        (["--settings", '{"max_runs": 0}'], "max_runs"),
        (["--step", "7200"], "step: must be > 0 and at most the sleep interval"),
    ],
)
def test_bad_settings_exit_2_naming_the_option(capsys, network_file, argv, message):
    code, out, err = run(capsys, str(network_file), "--scope", SCOPE, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_an_unknown_listed_value_is_a_usage_error(capsys, network_file):
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, str(network_file), "--scope", SCOPE, "--mode", "partial,sometimes")
    assert exit_info.value.code == 2
    assert "--mode: 'sometimes' is not a valid value" in capsys.readouterr().err


def test_bad_inputs_exit_2_with_a_clear_message(capsys, tmp_path, network_file):
    code, out, err = run(capsys, str(network_file))
    assert (code, out) == (2, "") and "scope: required" in err
    code, _, err = run(capsys, str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"network": "AlchemicalNetwork-x", "strategy": {"name": "ConnectivityStrategy"}}))
    code, _, err = run(capsys, str(bad))
    assert code == 2 and "network" in err
    code, _, err = run(capsys)
    assert code == 2 and "no network" in err
    code, _, err = run(capsys, str(network_file), "--server", "http://127.0.0.1:9")
    assert code == 2 and "either a file or --server" in err


def test_a_live_network_is_read_once_from_the_server(capsys, monkeypatch):
    from strategy_operator_dev.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": ("alice-key-0123", ["acme-*-*"])}) as sandbox:
        network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=1)
        monkeypatch.setenv("ALCHEMISCALE_IDENTIFIER", "alice")
        monkeypatch.setenv("ALCHEMISCALE_KEY", "alice-key-0123")
        code, out, err = run(capsys, "--server", sandbox.url, "--network", network, "--json")
        assert sandbox.state.network_tasks(network) == []  # the simulation never touches the server
    assert code == 0, err
    assert json.loads(out)["transformations"] == 4
    assert re.search(r"read AlchemicalNetwork-\S+: \d+ requests", err)
    assert "alice-key-0123" not in out + err


def test_plot_svg_has_one_line_per_choice_in_each_panel(capsys, tmp_path, network_file):
    path = tmp_path / "choices.svg"
    code, _, err = run(capsys, str(network_file), "--scope", SCOPE, "--max-tasks", "2,4,8", "--plot", str(path))
    assert code == 0, err
    root = ElementTree.parse(path).getroot()
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    assert {i for i in ids if re.fullmatch(r"(tasks|finished)-\d+", i)} == {
        f"{panel}-{n}" for panel in ("tasks", "finished") for n in range(3)
    }
    assert root.get("width") == "720pt" and root.get("height") == "324pt"


def test_plot_png_is_a_real_image_of_the_figure_s_size(capsys, tmp_path, network_file):
    from PIL import Image

    path = tmp_path / "choices.png"
    code, _, err = run(capsys, str(network_file), "--scope", SCOPE, "--mode", "partial,full", "--plot", str(path))
    assert code == 0, err
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1000, 450)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 10  # axes, text and two coloured lines, not a blank canvas


def test_plot_needs_a_known_suffix(capsys, tmp_path, network_file):
    code, _, err = run(capsys, str(network_file), "--scope", SCOPE, "--plot", str(tmp_path / "x.jpg"))
    assert code == 2 and "must end in .png or .svg" in err
