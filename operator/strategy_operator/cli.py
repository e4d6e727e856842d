"""The `strategy-operator` command line.

Each subcommand lives in the module that owns its idea and exposes
`add_arguments(parser)` and `main(args) -> int`; only the chosen module is imported,
so `strategy-operator plan` never pays for Kopf. Only what the image can run is listed;
the development commands (sandbox, control plane, local run) are `strategy-operator-dev`'s.
Argument types the subcommands share are here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("strategy_operator.controller.main", "run the operator (Kopf) against the current cluster"),
    "plan": ("strategy_operator.engine.plan_command", "print the plan of one iteration for a snapshot file"),
    "crd": ("strategy_operator.api.crd", "render the NetworkStrategy CustomResourceDefinition"),
    "snapshot": ("strategy_operator.alchemiscale.snapshot_command", "write a live snapshot of a network"),
    "simulate": ("strategy_operator.planning.command", "compare strategy settings on simulated compute"),
}


def json_object(text: str) -> dict:
    """An argument type for the subcommands: a JSON object (e.g. strategy settings)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"max_runs\": 3}'")
    return value


def _top_parser(
    prog: str, description: str, version: str, commands: dict[str, tuple[str, str]]
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    parser.add_argument(
        "command", choices=sorted(commands), help="; ".join(f"{n}: {h}" for n, (_, h) in sorted(commands.items()))
    )
    return parser


def dispatch(prog: str, description: str, commands: dict[str, tuple[str, str]], argv: list[str] | None) -> int:
    """Run `argv`'s subcommand from `commands` (name -> (module, help)), importing only its module."""
    from strategy_operator import __version__

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in commands:
        top = _top_parser(prog, description, __version__, commands)
        top.parse_args(argv[:1] or ["--help"])
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = commands[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"{prog} {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.main(args) or 0)


def main(argv: list[str] | None = None) -> int:
    return dispatch("strategy-operator", __doc__.splitlines()[0], COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
