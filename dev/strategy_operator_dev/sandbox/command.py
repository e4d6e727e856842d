"""`strategy-operator sandbox`: serve an alchemiscale-compatible sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from strategy_operator.scopedkey import InvalidScopedKey


def _identity(text: str) -> tuple[str, str, list[str]]:
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"--identity {text!r}: expected ID:KEY:SCOPE[,SCOPE...]")
    identifier, key, scopes = parts
    return identifier, key, scopes.split(",")


def _generate(text: str) -> tuple[str, int, str | None]:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--generate {text!r}: expected SHAPE:N[:SCOPE]")
    try:
        count = int(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--generate {text!r}: N must be an integer") from None
    return parts[0], count, parts[2] if len(parts) == 3 else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 = any free port)")
    parser.add_argument(
        "--identity",
        action="append",
        type=_identity,
        default=[],
        metavar="ID:KEY:SCOPE[,SCOPE...]",
        help="a user identity that can log in at /token (repeatable)",
    )
    parser.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="FILE",
        help="load a network from a JSON/YAML file (repeatable; see docs/sandbox.md)",
    )
    parser.add_argument(
        "--generate",
        action="append",
        type=_generate,
        default=[],
        metavar="SHAPE:N[:SCOPE]",
        help="generate a star|path|random network of N systems (repeatable; default scope acme-tyk2-run1)",
    )
    parser.add_argument(
        "--compute-rate",
        type=float,
        default=0.0,
        help="simulated compute: tasks claimed per second (default 0 = no compute)",
    )
    parser.add_argument("--compute-duration", type=float, default=5.0, help="seconds a simulated task runs (default 5)")
    parser.add_argument(
        "--failure-probability", type=float, default=0.0, help="chance a simulated task fails (default 0)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for generated networks, task keys and compute (default 0)"
    )
    parser.add_argument("--token-lifetime", type=float, default=1800, help="JWT lifetime in seconds (default 1800)")
    parser.add_argument("--shuffle", action="store_true", help="shuffle unordered lists in responses")
    parser.add_argument(
        "--last-scope-bug",
        action="store_true",
        help="reproduce 0.8.0's bulk task creation bug (every task gets the last transformation's scope)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from strategy_operator.planning.networks import NetworkDefinitionError, load_network_file
    from strategy_operator_dev.sandbox.server import build_sandbox, uvicorn_config
    from strategy_operator_dev.sandbox.simulator import ComputeSettings

    try:
        compute = None
        if args.compute_rate > 0:
            compute = ComputeSettings(
                rate=args.compute_rate,
                duration=args.compute_duration,
                failure_probability=args.failure_probability,
                seed=args.seed,
            )
        sandbox = build_sandbox(
            token_lifetime=args.token_lifetime,
            compute=compute,
            seed=args.seed,
            shuffle=args.shuffle,
            last_scope_bug=args.last_scope_bug,
        )
        for identifier, key, scopes in args.identity:
            sandbox.state.add_identity(identifier, key, scopes)
        networks = [sandbox.state.add_network(load_network_file(path)) for path in args.network]
        for shape, count, scope in args.generate:
            networks.append(
                sandbox.state.generate_network(shape, count, scope=scope or "acme-tyk2-run1", seed=args.seed)
            )
    except (NetworkDefinitionError, InvalidScopedKey, ValueError) as exc:
        print(f"strategy-operator sandbox: {exc}", file=sys.stderr)
        return 2

    import socket

    listener = socket.socket(
        socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as exc:
        print(f"strategy-operator sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(sandbox, args.host, port, log_level=args.log_level))
    for network in networks:
        print(f"network {network}", flush=True)
    if not args.identity:
        print("warning: no --identity given; nobody can log in", file=sys.stderr, flush=True)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"url http://{host}:{port}", flush=True)
    if sandbox.simulator is not None:
        sandbox.simulator.start()
    try:
        server.run(sockets=[listener])
    finally:
        if sandbox.simulator is not None:
            sandbox.simulator.stop()
    return 0
