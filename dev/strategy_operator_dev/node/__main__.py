"""`python -m strategy_operator_dev.node up|cleanup`: start a node by hand, or finish off killed ones."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .launcher import Node, reap_stale_nodes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m strategy_operator_dev.node", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "cleanup"],
        help="up: start a node and keep it until Ctrl-C; cleanup: remove nodes whose launcher died",
    )
    args = parser.parse_args(argv)
    if args.command == "cleanup":
        reaped = reap_stale_nodes()
        print(f"removed {len(reaped)} stale node(s){': ' + ', '.join(reaped) if reaped else ''}")
        return 0
    stop = threading.Event()
    with Node.start() as node:
        for name, seconds in node.timings.items():
            print(f"# {name}: {seconds:.1f}s", flush=True)
        print(f"# workdir {node.workdir}; network namespace {node.name}", flush=True)
        print(f"ip netns exec {node.name} kubectl --kubeconfig={node.plane.kubeconfig} get nodes", flush=True)
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
