"""`strategy-operator simulate`: compare strategy settings on simulated compute before spending any.

    strategy-operator simulate snap.json --scaling linear,exponential --max-tasks 3,6,10 --mode partial,full
    strategy-operator simulate network.yaml --scope acme-tyk2-run1 --rate 120 --duration 3600 --json
    strategy-operator simulate --server URL --network SK --plot choices.svg

The network is a snapshot file (what `strategy-operator plan` reads, e.g. written by
`strategy-operator snapshot`), a network document (the sandbox's format, docs/sandbox.md),
or a live network read once with the same options as `strategy-operator snapshot`.
Every combination of --mode x --scaling x --max-tasks runs from the same network with the
same compute and seed. Exit codes: 2 bad input, 1 the strategy or the server failed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from typing import Any

import yaml
from pydantic import ValidationError

from strategy_operator.cli import json_object
from strategy_operator.engine import Snapshot, StrategyError, strategy_names
from strategy_operator.engine.vocabulary import Mode, TaskScaling
from strategy_operator.planning.compute import ComputeModel
from strategy_operator.planning.simulation import Choice, Schedule, compare
from strategy_operator.validation import describe

EXIT_USAGE = 2
EXIT_FAILED = 1


class InputError(ValueError):
    """Input the simulation cannot start from; the message names the option or field."""


def _listed(kind: type, name: str):
    def parse(text: str) -> list:
        values = []
        for part in text.split(","):
            part = part.strip()
            try:
                values.append(kind(part))
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name}: {part!r} is not a valid value") from None
        if not values or len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{name}: give distinct comma-separated values")
        return values

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "docs/planning.md explains every figure, and how to choose."
    source = parser.add_argument_group("the network (a file, or --server and --network)")
    source.add_argument("file", nargs="?", help="snapshot JSON (plan format) or network document (YAML/JSON)")
    source.add_argument("--scope", help="scope of a network document that names none, e.g. acme-tyk2-run1")
    source.add_argument("--server", help="alchemiscale user API URL, to read a live network once")
    source.add_argument("--network", help="scoped key of the live AlchemicalNetwork")
    source.add_argument("--credentials-file", help="YAML/JSON with 'identifier' and 'key' (default: environment)")
    tls = source.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", help="PEM CA bundle to verify the server's certificate")
    tls.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    source.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")

    choices = parser.add_argument_group("the strategy and the settings to compare (cartesian product)")
    choices.add_argument(
        "--strategy", choices=strategy_names(), help="default: the snapshot's strategy, else ConnectivityStrategy"
    )
    choices.add_argument("--settings", type=json_object, help="strategy settings as a JSON object")
    choices.add_argument(
        "--mode", type=_listed(Mode, "--mode"), help="partial,full (default: the snapshot's, else partial)"
    )
    choices.add_argument(
        "--scaling",
        type=_listed(TaskScaling, "--scaling"),
        help="linear,exponential (default: the snapshot's, else exponential)",
    )
    choices.add_argument(
        "--max-tasks",
        type=_listed(int, "--max-tasks"),
        help="maxTasksPerTransformation values, e.g. 3,6,10 (default: the snapshot's, else 3)",
    )

    compute = parser.add_argument_group("simulated compute and schedule")
    compute.add_argument("--rate", type=float, default=60.0, help="tasks your compute starts per hour (default 60)")
    compute.add_argument("--duration", type=float, default=1800.0, help="seconds one task runs (default 1800)")
    compute.add_argument("--failure-probability", type=float, default=0.0, help="chance a task fails (default 0)")
    compute.add_argument("--seed", type=int, default=0, help="seed of task keys, claims and failures (default 0)")
    compute.add_argument(
        "--sleep-interval",
        type=float,
        default=3600.0,
        help="seconds between iterations: the resource's effective sleepInterval (default 3600)",
    )
    compute.add_argument("--step", type=float, default=60.0, help="compute's time step in seconds (default 60)")
    compute.add_argument("--max-iterations", type=int, default=500, help="stop after this many (default 500)")

    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    output.add_argument("--history", action="store_true", help="with --json: include every iteration")
    output.add_argument("--plot", metavar="FILE", help="write tasks spent and convergence per choice (.png or .svg)")


def network_document_snapshot(doc: dict[str, Any], scope: str | None) -> dict[str, Any]:
    """The snapshot document of a network document (sandbox format): no tasks, no results."""
    from strategy_operator.planning.networks import NetworkDefinitionError, parse_network

    try:
        definition = parse_network(doc, scope=scope)
    except NetworkDefinitionError as exc:
        raise InputError(str(exc)) from None
    where = f"-{definition.scope}"
    transformations = []
    for edge in definition.transformations:
        a, b = (edge.system_keys * 2)[:2] if len(edge.system_keys) == 1 else edge.system_keys
        transformations.append({"key": edge.gufe_key + where, "stateA": a + where, "stateB": b + where, "results": 0})
    return {
        "network": definition.scoped_key,
        "strategy": {"name": "ConnectivityStrategy"},
        "chemicalSystems": sorted(s.gufe_key + where for s in definition.systems),
        "transformations": sorted(transformations, key=lambda t: t["key"]),
    }


def read_file(path: str, scope: str | None) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid JSON or YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a snapshot or a network document (a mapping)")
    if "network" in doc:
        if scope is not None:
            raise InputError("--scope: only for network documents; a snapshot's keys carry their scope")
        return doc
    try:
        return network_document_snapshot(doc, scope)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


async def _observe_live(args: argparse.Namespace) -> dict[str, Any]:
    from strategy_operator.alchemiscale.client import AlchemiscaleClient
    from strategy_operator.alchemiscale.credentials import Credentials
    from strategy_operator.alchemiscale.observation import build_snapshot
    from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter

    credentials = Credentials.from_file(args.credentials_file) if args.credentials_file else Credentials.from_env()
    verify: bool | str = False if args.insecure else (args.ca_bundle or True)
    async with AlchemiscaleClient(args.server, credentials, verify=verify, timeout=args.timeout) as client:
        observation = await NetworkSnapshotter(client, args.network).observe()
    print(
        f"read {args.network}: {observation.requests} requests, result count {observation.result_count}",
        file=sys.stderr,
    )
    return build_snapshot(observation, strategy={"name": "ConnectivityStrategy"})


def base_snapshot(args: argparse.Namespace, document: dict[str, Any]) -> Snapshot:
    """The starting snapshot, with --strategy/--settings applied (state: awake, as new)."""
    document = dict(document)
    if args.strategy is not None or args.settings is not None:
        name = args.strategy or document.get("strategy", {}).get("name", "ConnectivityStrategy")
        document["strategy"] = {"name": name, **({"settings": args.settings} if args.settings is not None else {})}
    try:
        return Snapshot.model_validate(document)
    except ValidationError as exc:
        raise InputError(describe(exc)) from None


def choices_of(args: argparse.Namespace, base: Snapshot) -> list[Choice]:
    modes = args.mode or [base.mode if base.mode is not Mode.disabled else Mode.partial]
    scalings = args.scaling or [base.task_scaling]
    maxima = args.max_tasks or [base.max_tasks_per_transformation]
    try:
        return [Choice(m, s, n) for m, s, n in itertools.product(modes, scalings, maxima)]
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _load(args: argparse.Namespace) -> dict[str, Any]:
    live = args.server is not None or args.network is not None
    if live and args.file:
        raise InputError("give either a file or --server and --network, not both")
    if live:
        if not (args.server and args.network):
            raise InputError("a live network needs both --server and --network")
        from strategy_operator.alchemiscale.errors import AlchemiscaleError

        try:
            return asyncio.run(_observe_live(args))
        except (OSError, ValueError) as exc:
            raise InputError(str(exc)) from None
        except AlchemiscaleError as exc:
            raise ServerFailed(f"{type(exc).__name__}: {exc}") from None
    if not args.file:
        raise InputError("no network: give a snapshot or network file, or --server and --network")
    return read_file(args.file, args.scope)


class ServerFailed(RuntimeError):
    pass


def main(args: argparse.Namespace) -> int:
    prog = "strategy-operator simulate"
    try:
        if not args.rate > 0:  # also rejects nan
            raise InputError(f"--rate: must be > 0 tasks per hour, got {args.rate}")
        compute = ComputeModel(
            rate=args.rate / 3600, duration=args.duration, failure_probability=args.failure_probability, seed=args.seed
        )
        schedule = Schedule(sleep_interval=args.sleep_interval, step=args.step, max_iterations=args.max_iterations)
        base = base_snapshot(args, _load(args))
        choices = choices_of(args, base)
    except (InputError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ServerFailed as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        results = compare(base, choices, compute, schedule)
    except StrategyError as exc:
        print(f"{prog}: strategy failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.plot:
        from strategy_operator.planning.plot import PlotUnavailable, write_plot

        try:
            write_plot(results, args.plot)
        except (PlotUnavailable, ValueError, OSError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        documents = []
        for result in results:
            document = result.to_json()
            if not args.history:
                document.pop("history")
            documents.append(document)
        print(json.dumps({"transformations": len(base.transformations), "choices": documents}, indent=2))
    else:
        from strategy_operator.planning.report import table

        print(table(results))
    return 0
