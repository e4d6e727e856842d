"""`python -m strategy_operator_dev.realserver build|up`: build the cached pieces, or run a throwaway stack.

`up` prints the user API's URL and the user identity's credentials, then serves until
Ctrl-C (or `--lifetime` seconds), and stops every process it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from strategy_operator_dev.realserver.build import BuildError, build_all
from strategy_operator_dev.realserver.stack import DEFAULT_LIFETIME, RealAlchemiscale, StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m strategy_operator_dev.realserver",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build (or reuse) the server venv and the Neo4j runner")
    up = sub.add_parser("up", help="start a throwaway stack on loopback; Ctrl-C stops it")
    up.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="SCOPE",
        help="a scope for the user identity (repeatable; default acme-*-*)",
    )
    up.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="stop after this many seconds")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            built = build_all()
            print(
                f"server venv:  {built.venv.path}\nneo4j runner: {built.runner.directory}\n"
                f"({time.monotonic() - started:.0f} s)"
            )
            return 0
        # SIGTERM takes the same way out as Ctrl-C, so `finally` stops the stack.
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        stack = RealAlchemiscale.start(user_scopes=tuple(args.scopes or ("acme-*-*",)), lifetime=args.lifetime)
    except (BuildError, StackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # the stack stopped what it had started
    try:
        print(
            f"alchemiscale 0.8.0 is up (started in {stack.started_in:.0f} s); Ctrl-C stops it\n"
            f"  user API:    {stack.user_api_url}\n"
            f"  compute API: {stack.compute_api_url}\n"
            f"  identity:    {stack.user.identifier}  key: {stack.user.key}  scopes: {', '.join(stack.user.scopes)}\n"
            f"  logs:        {stack.workdir / 'logs'}",
            flush=True,
        )
        deadline = time.monotonic() + args.lifetime
        while time.monotonic() < deadline and stack.running:
            time.sleep(1)
        if not stack.running:
            print("error: a server process exited; see the logs above", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
