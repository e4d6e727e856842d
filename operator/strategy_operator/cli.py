"""The `strategy-operator` command line.

Each subcommand lives in the module that owns its idea and exposes
`add_arguments(parser)` and `main(args) -> int`; only the chosen module is imported,
so `strategy-operator plan` never pays for Kopf or the sandbox's web stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("strategy_operator.runner", "run the operator (Kopf) against the current cluster"),
    "plan": ("strategy_operator.engine.plan_command", "print the plan of one iteration for a snapshot file"),
    "crd": ("strategy_operator.crd", "render the NetworkStrategy CustomResourceDefinition"),
    "snapshot": ("strategy_operator.alchemiscale.snapshot_command", "write a live snapshot of a network"),
    "simulate": ("strategy_operator.planning.command", "compare strategy settings on simulated compute"),
    "sandbox": ("strategy_operator.sandbox.command", "serve an alchemiscale-compatible sandbox API"),
    "controlplane": ("strategy_operator.controlplane", "run a local kube-apiserver + etcd and print its KUBECONFIG"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strategy-operator", description=__doc__.splitlines()[0])
    from strategy_operator import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), help="; ".join(f"{n}: {h}" for n, (_, h) in sorted(COMMANDS.items())))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        top = _top_parser()
        top.parse_args(argv[:1] or ["--help"])
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"strategy-operator {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.main(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
