"""docs/planning.md shows what `simulate` really prints for the command it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from strategy_operator.cli import main
from strategy_operator_dev.sandbox.networks import sample_networks

DOC = Path(__file__).resolve().parents[2] / "docs" / "planning.md"


def test_the_documented_table_is_the_command_s_output(capsys):
    text = DOC.read_text()
    command = re.search(r"```sh\n(strategy-operator simulate .*?)\n```", text, re.S).group(1)
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[:3] == ["strategy-operator", "simulate", "network.yaml"]
    table = re.search(r"```text\n(choice .*?)\n```", text, re.S).group(1)
    assert main(["simulate", str(sample_networks()["tyk2-star"]), *argv[3:]]) == 0
    assert capsys.readouterr().out.rstrip("\n") == table
