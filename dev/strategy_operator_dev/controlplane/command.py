"""`strategy-operator-dev controlplane`: run a local control plane until Ctrl-C and print its KUBECONFIG."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from strategy_operator_dev.controlplane.binaries import BIN_DIR_ENV, K8S_VERSION, find_binaries
from strategy_operator_dev.controlplane.plane import ControlPlane


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir", type=Path, help="keep certificates, logs and the kubeconfig here (default: a temp dir)"
    )
    parser.add_argument(
        "--no-build", action="store_true", help=f"do not run the build script; use ${BIN_DIR_ENV} or the cache"
    )


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    binaries = find_binaries(build=not args.no_build)
    with ControlPlane.start(args.workdir, binaries=binaries) as plane:
        print(
            f"# kube-apiserver {K8S_VERSION} ready at {plane.server_url} in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        print(f"# logs: {plane.workdir}; Ctrl-C stops it and removes temporary files", flush=True)
        print(f"export KUBECONFIG={plane.kubeconfig}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not plane.running:
                for process in plane._processes:
                    if process.popen.poll() is not None:
                        print(process.describe_failure(f"exited with code {process.popen.returncode}"), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(
        prog="python -m strategy_operator_dev.controlplane", description=__doc__.splitlines()[0]
    )
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
