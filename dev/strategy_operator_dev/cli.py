"""The `strategy-operator-dev` command line: the development tools the image does not carry.

Same conventions as `strategy-operator` (one module per subcommand, imported only when chosen).
"""

from __future__ import annotations

from strategy_operator.cli import dispatch

COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("strategy_operator_dev.sandbox.command", "serve an alchemiscale-compatible sandbox API"),
    "controlplane": (
        "strategy_operator_dev.controlplane.command",
        "run a local kube-apiserver + etcd and print its KUBECONFIG",
    ),
    "localrun": (
        "strategy_operator_dev.localrun",
        "`make run`: the operator, a sandbox and the examples on one machine",
    ),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("strategy-operator-dev", __doc__.splitlines()[0], COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
