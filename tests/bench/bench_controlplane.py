"""Warm start and stop of the local control plane (issue 4: "record the warm start time").

Five starts of etcd + kube-apiserver with fresh certificates each, timed to /readyz, then a
first `kubectl get namespaces` (discovery included) and the stop. The binaries must already
be built (`make controlplane`); a stale cache is rebuilt first and not timed.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from strategy_operator_dev.controlplane import ControlPlane, find_binaries
from strategy_operator_dev.procs import find_kubectl

RUNS = 5
TARGET_START_SECONDS = 15.0  # generous; measured 2.5-3.8 s (docs/development.md, "Measured costs")


def main() -> None:
    started = time.monotonic()
    binaries = find_binaries()
    lookup = time.monotonic() - started
    kubectl = str(find_kubectl())
    starts, first_calls, stops = [], [], []
    for _ in range(RUNS):
        t0 = time.monotonic()
        plane = ControlPlane.start(binaries=binaries)
        t1 = time.monotonic()
        subprocess.run([kubectl, "get", "namespaces"], env=plane.env(), check=True, capture_output=True)
        t2 = time.monotonic()
        plane.stop()
        t3 = time.monotonic()
        starts.append(t1 - t0)
        first_calls.append(t2 - t1)
        stops.append(t3 - t2)

    def row(name: str, values: list[float]) -> str:
        return f"{name:<28} median {statistics.median(values):6.2f}s  min {min(values):6.2f}s  max {max(values):6.2f}s"

    print(f"binary lookup (build script, stamp hit): {lookup:.2f}s")
    print(row("start to /readyz", starts))
    print(row("first kubectl get namespaces", first_calls))
    print(row("stop", stops))
    verdict = "ok" if statistics.median(starts) <= TARGET_START_SECONDS else "SLOWER THAN TARGET"
    print(f"target: start <= {TARGET_START_SECONDS:.0f}s -> {verdict}")


if __name__ == "__main__":
    main()
