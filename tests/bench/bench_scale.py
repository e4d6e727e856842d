"""The operator at scale: 100, 500 and 1000 NetworkStrategies of 50 transformations each, one server.

Real parts throughout: the local control plane, the operator as a process (`strategy-operator
run`), the sandbox in its own process with one 50-transformation network per resource. Per
size it prints the operator's RSS (idle, and the peak while every resource iterates), the
growth per resource, the lateness of iterations against their due time (p50, p95, max; the
status has whole seconds), requests per second to alchemiscale and logins, and the cost of a
restart (requests of the first round after a SIGKILL against a calm round).
Targets (issue 13): 1000 resources in at most 300 MiB RSS.

`BENCH_SCALE_SIZES=100,500` picks the sizes; `BENCH_SCALE_INTERVAL` the sleepInterval (s).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import yaml
from passes import KEY, start_sandbox

from strategy_operator_dev.repo import repo_root

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SCALE_SIZES", "100,500,1000").split(","))
INTERVAL = int(os.environ.get("BENCH_SCALE_INTERVAL", "90"))
TRANSFORMATIONS = 50
RSS_TARGET_MIB = 300
IDENTITY = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=30).close()


def _sandbox(count: int) -> tuple[subprocess.Popen[str], str, list[str]]:
    generate = [arg for i in range(count) for arg in ("--generate", f"star:{TRANSFORMATIONS + 1}:acme-bench-r{i}")]
    return start_sandbox("--token-lifetime", "36000", *generate, networks=count)


class _Operator:
    def __init__(self, plane, namespace: str, url: str, log: Path) -> None:
        self.plane, self.namespace, self.url, self.log = plane, namespace, url, log
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        self.port = _free_port()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "strategy_operator.cli",
                    "run",
                    "--namespace",
                    self.namespace,
                    "--default-server",
                    self.url,
                    "--http-port",
                    str(self.port),
                    "--tick",
                    "2",
                    "--min-sleep-interval",
                    str(INTERVAL),
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.plane.env(dict(os.environ)),
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the operator did not become ready; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def _kubectl(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed: {result.stderr.strip()}")
    return result


def _statuses(kubectl: list[str]) -> dict[str, dict]:
    result = subprocess.run(
        [*kubectl, "get", "networkstrategies", "-o", "json"], capture_output=True, text=True, timeout=120, check=True
    )
    return {item["metadata"]["name"]: item.get("status") or {} for item in json.loads(result.stdout)["items"]}


def _seconds(text: str) -> float:
    from strategy_operator.controller.scheduling import parse_time

    moment = parse_time(text)
    return moment.timestamp() if moment else 0.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _run(plane, size: int, workdir: Path) -> dict[str, float]:
    from strategy_operator_dev.procs import find_kubectl

    namespace = f"bench-scale-{size}-{uuid.uuid4().hex[:6]}"
    kubectl = [str(find_kubectl()), f"--kubeconfig={plane.kubeconfig}", f"--namespace={namespace}"]
    _kubectl([*kubectl[:2], "create", "namespace", namespace])
    _kubectl(
        [
            *kubectl,
            "create",
            "secret",
            "generic",
            "creds",
            f"--from-literal=identifier={IDENTITY}",
            f"--from-literal=key={KEY}",
        ]
    )
    sandbox, url, networks = _sandbox(size)
    # Bound to the sandbox by its owner (the bench), as the operator requires of every Secret.
    _kubectl([*kubectl, "annotate", "secret", "creds", f"alchemiscale.org/servers={url}"])
    operator = _Operator(plane, namespace, url, workdir / f"operator-{size}.log")
    figures: dict[str, float] = {}
    try:
        operator.start()
        time.sleep(3)
        figures["idle MiB"] = _rss_mib(operator.pid)
        items = [
            {
                "apiVersion": "alchemiscale.org/v1alpha1",
                "kind": "NetworkStrategy",
                "metadata": {"name": f"s{i:04d}"},
                "spec": {
                    "network": network,
                    "strategy": {"name": "ConnectivityStrategy"},
                    "sleepInterval": INTERVAL,
                    "server": {"credentialsSecret": "creds"},
                },
            }
            for i, network in enumerate(networks)
        ]
        _post(f"{url}/_sandbox/requests/reset")
        started = time.monotonic()
        _kubectl(
            [*kubectl, "apply", "-f", "-"], input=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
        )
        peak = 0.0
        seen: dict[str, tuple[str, str]] = {}  # name -> (lastIteration, nextIteration)
        lateness: list[float] = []
        rounds: dict[str, int] = {}
        first_round_at: float | None = None
        deadline = started + 3 * INTERVAL + 900
        while time.monotonic() < deadline:
            peak = max(peak, _rss_mib(operator.pid))
            for name, status in _statuses(kubectl).items():
                last, planned = status.get("lastIteration"), status.get("nextIteration")
                before = seen.get(name)
                if last and (before is None or before[0] != last):
                    rounds[name] = rounds.get(name, 0) + 1
                    if before is not None and before[1]:
                        lateness.append(max(0.0, _seconds(last) - _seconds(before[1])))
                if last:
                    seen[name] = (last, planned or "")
            done = min((rounds.get(f"s{i:04d}", 0) for i in range(size)), default=0)
            if done >= 1 and first_round_at is None:
                first_round_at = time.monotonic()
                figures["first round s"] = first_round_at - started
                figures["first round requests"] = _get_json(f"{url}/_sandbox/requests")["total"]
                _post(f"{url}/_sandbox/requests/reset")
            if done >= 3:
                break
            time.sleep(3)
        if first_round_at is None:
            raise RuntimeError(f"not every resource iterated once in time; see {operator.log}")
        elapsed = time.monotonic() - first_round_at
        steady = _get_json(f"{url}/_sandbox/requests")
        figures["peak MiB"] = peak
        figures["steady requests/s"] = steady["total"] / elapsed
        figures["calm requests per resource per round"] = steady["total"] / max(1, size * (min(rounds.values()) - 1))
        figures["logins"] = steady["byRoute"].get("POST /token", 0)
        figures["lateness p50 s"] = _percentile(lateness, 0.50)
        figures["lateness p95 s"] = _percentile(lateness, 0.95)
        figures["lateness max s"] = max(lateness) if lateness else float("nan")
        figures["lateness samples"] = len(lateness)

        # Restart: SIGKILL, then every resource's next pass runs with cold caches.
        operator.kill()
        _post(f"{url}/_sandbox/requests/reset")
        before = dict(seen)
        operator.start()
        restart_deadline = time.monotonic() + 2 * INTERVAL + 900
        while time.monotonic() < restart_deadline:
            statuses = _statuses(kubectl)
            if all(status.get("lastIteration") != before[name][0] for name, status in statuses.items()):
                break
            time.sleep(3)
        restart = _get_json(f"{url}/_sandbox/requests")
        figures["restart requests per resource"] = restart["total"] / size
        figures["restart logins"] = restart["byRoute"].get("POST /token", 0)
    finally:
        operator.kill(signal.SIGTERM)
        sandbox.terminate()
        sandbox.wait(timeout=60)
        subprocess.run([*kubectl[:2], "delete", "namespace", namespace, "--wait=false"], capture_output=True)
    return figures


def main() -> None:
    from strategy_operator_dev.controlplane import ControlPlane

    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    from strategy_operator_dev.procs import find_kubectl

    crd = repo_root() / "crds" / "networkstrategies.yaml"
    with ControlPlane.start() as plane:
        base = [str(find_kubectl()), f"--kubeconfig={plane.kubeconfig}"]
        _kubectl([*base, "apply", "--server-side", "-f", str(crd)])
        _kubectl(
            [*base, "wait", "--for=condition=Established", "--timeout=60s", "crd/networkstrategies.alchemiscale.org"]
        )
        for size in SIZES:
            figures = _run(plane, size, workdir)
            rows.append((size, figures))
            growth = (figures["peak MiB"] - figures["idle MiB"]) / size * 1024
            verdict = ("ok" if figures["peak MiB"] <= RSS_TARGET_MIB else "OVER TARGET") if size >= 1000 else "-"
            print(
                f"{size:5d} resources x {TRANSFORMATIONS} transformations: RSS idle {figures['idle MiB']:.0f} MiB, "
                f"peak {figures['peak MiB']:.0f} MiB ({growth:.0f} KiB per resource; 1000 target "
                f"<= {RSS_TARGET_MIB} MiB: {verdict}); first round {figures['first round s']:.0f} s "
                f"({figures['first round requests'] / size:.0f} requests per resource); "
                f"lateness p50 {figures['lateness p50 s']:.0f} s, p95 {figures['lateness p95 s']:.0f} s, "
                f"max {figures['lateness max s']:.0f} s ({figures['lateness samples']:.0f} passes); "
                f"{figures['steady requests/s']:.1f} requests/s steady "
                f"({figures['calm requests per resource per round']:.1f} per resource per round), "
                f"{figures['logins']:.0f} login(s); after a SIGKILL restart "
                f"{figures['restart requests per resource']:.1f} requests per resource, "
                f"{figures['restart logins']:.0f} login(s)",
                flush=True,
            )
    if len(rows) >= 2:
        (small, a), (large, b) = rows[0], rows[-1]
        slope = (b["peak MiB"] - a["peak MiB"]) / (large - small) * 1024
        print(f"growth of the peak RSS between {small} and {large} resources: {slope:.0f} KiB per resource")


if __name__ == "__main__":
    main()
