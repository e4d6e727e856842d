"""`strategy-operator plan SNAPSHOT.json`: print what the next iteration would do.

Reads a snapshot (format: docs/engine.md) from a file or `-` for stdin and prints the plan as JSON.
Bad input exits 2 with a message naming the field on stderr and nothing on stdout; a strategy
failure (StrategyError) exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.iteration import plan_iteration
from strategy_operator.engine.snapshot import Snapshot
from strategy_operator.validation import describe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("snapshot", help="snapshot JSON file (the format is in docs/engine.md), or - for stdin")
    parser.add_argument("--compact", action="store_true", help="print the plan on one line")


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    with open(source, encoding="utf-8") as handle:
        return handle.read()


def main(args: argparse.Namespace) -> int:
    name = "stdin" if args.snapshot == "-" else args.snapshot
    try:
        document = json.loads(_read(args.snapshot))
    except OSError as error:
        print(f"strategy-operator plan: cannot read {name}: {error.strerror or error}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"strategy-operator plan: {name} is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(document, dict):
        print(f"strategy-operator plan: {name}: a snapshot must be a JSON object", file=sys.stderr)
        return 2
    try:
        snapshot = Snapshot.model_validate(document)
    except ValidationError as error:
        print(f"strategy-operator plan: {name}: {describe(error)}", file=sys.stderr)
        return 2
    try:
        plan = plan_iteration(snapshot)
    except StrategyError as error:
        print(f"strategy-operator plan: {name}: strategy failed: {error}", file=sys.stderr)
        return 1
    indent = None if args.compact else 2
    print(json.dumps(plan.to_json(), indent=indent))
    return 0
