"""`strategy-operator snapshot`: write a live snapshot of a network to stdout.

The output is the engine's snapshot document (docs/engine.md, "Formats"), so `strategy-operator plan` can show
what an iteration would do on real data:

    strategy-operator snapshot --server URL --network SK > snap.json
    strategy-operator plan snap.json

Credentials come from ALCHEMISCALE_IDENTIFIER / ALCHEMISCALE_KEY (the names the official
client uses) or from --credentials-file (YAML or JSON with `identifier` and `key`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import AlchemiscaleError, TransientError
from strategy_operator.alchemiscale.observation import build_snapshot
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter
from strategy_operator.cli import json_object

EXIT_USAGE = 2
EXIT_SERVER = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="alchemiscale user API URL, e.g. https://api.example.org")
    parser.add_argument("--network", required=True, help="scoped key of the AlchemicalNetwork")
    parser.add_argument("--strategy", default="ConnectivityStrategy", help="strategy name (default: %(default)s)")
    parser.add_argument("--settings", type=json_object, default=None, help="strategy settings as a JSON object")
    parser.add_argument("--mode", choices=("partial", "full", "disabled"), default="partial")
    parser.add_argument("--task-scaling", choices=("exponential", "linear"), default="exponential")
    parser.add_argument("--max-tasks-per-transformation", type=int, default=3)
    parser.add_argument(
        "--state-status", choices=("awake", "dormant"), default=None, help="include a strategy state with this status"
    )
    parser.add_argument(
        "--last-iteration-result-count",
        type=int,
        default=None,
        help="the state's result count (default: the count observed now)",
    )
    parser.add_argument("--credentials-file", help="YAML/JSON file with 'identifier' and 'key' (default: environment)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", help="PEM CA bundle to verify the server's certificate")
    tls.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")


async def _snapshot(args: argparse.Namespace, credentials: Credentials) -> dict:
    verify: bool | str = False if args.insecure else (args.ca_bundle or True)
    async with AlchemiscaleClient(args.server, credentials, verify=verify, timeout=args.timeout) as client:
        observation = await NetworkSnapshotter(client, args.network).observe()
    state = None
    if args.state_status:
        count = (
            observation.result_count if args.last_iteration_result_count is None else args.last_iteration_result_count
        )
        state = {"status": args.state_status, "lastIterationResultCount": count}
    print(f"{observation.requests} requests, result count {observation.result_count}", file=sys.stderr)
    return build_snapshot(
        observation,
        strategy={"name": args.strategy, "settings": args.settings},
        mode=args.mode,
        task_scaling=args.task_scaling,
        max_tasks_per_transformation=args.max_tasks_per_transformation,
        state=state,
    )


def main(args: argparse.Namespace) -> int:
    if args.max_tasks_per_transformation < 1:
        print("error: --max-tasks-per-transformation must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        credentials = Credentials.from_file(args.credentials_file) if args.credentials_file else Credentials.from_env()
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        document = asyncio.run(_snapshot(args, credentials))
    except ValueError as exc:  # malformed scoped key, bad URL, unreadable CA bundle
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TransientError as exc:
        print(f"error (transient, try again): {exc}", file=sys.stderr)
        return EXIT_SERVER
    except AlchemiscaleError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SERVER
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
