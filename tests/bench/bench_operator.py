"""One operator pass over a large network against the sandbox, and the event loop meanwhile.

The operator serves every resource, its probes and its watch streams from one event loop,
so a pass must never block it: the strategy's compute runs in a thread. This times a first
pass (cold caches), a second pass (warm) and a dormant check over real HTTP, and measures the
worst event-loop lag seen while they run (a 10 ms ticker on the same loop). Targets: loop lag
under 100 ms; a dormant check in at most 5 requests.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import normalize_server
from strategy_operator.controller.reconcile import IterationRunner, ResourceView, SessionCache
from strategy_operator.controller.secrets import SecretCredentials

SIZES = (200, 1000)
LAG_TARGET = 0.100
DORMANT_REQUEST_TARGET = 5


KEY = "bench-key-0123456789"


class _Secrets:
    def __init__(self, url: str) -> None:
        self.servers = (normalize_server(url),)

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        return SecretCredentials("bench", KEY, self.servers)


async def _lag_monitor(stop: asyncio.Event, worst: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        worst[0] = max(worst[0], loop.time() - before - 0.01)


async def _bench(url: str, network: str) -> dict[str, float]:
    config = OperatorConfig(default_server=url, min_sleep_interval=1, tick=1, iteration_timeout=600)
    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = IterationRunner(config, _Secrets(url), pool, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
        spec = {
            "network": network,
            "strategy": {"name": "ConnectivityStrategy"},
            "server": {"credentialsSecret": "creds"},
            "sleepInterval": 60,
        }
        sessions = SessionCache()
        worst = [0.0]
        stop = asyncio.Event()
        monitor = asyncio.create_task(_lag_monitor(stop, worst))
        figures: dict[str, float] = {}
        status: dict = {}
        try:
            for label in ("first pass", "second pass"):
                sent = sessions.requests_sent()
                started = time.perf_counter()
                outcome = await runner.run(
                    ResourceView("ns", "bench", 1, spec, status, {}),
                    sessions,
                    transient_failures=0,
                    mode_now=lambda: "partial",
                )
                assert outcome.result == "iterated", outcome.log
                figures[f"{label} s"] = time.perf_counter() - started
                figures[f"{label} requests"] = sessions.requests_sent() - sent
                status = {**status, **{k: v for k, v in outcome.status.items() if v is not None}}
            dormant = {**status, "status": "dormant"}
            sent = sessions.requests_sent()
            outcome = await runner.run(
                ResourceView("ns", "bench", 1, spec, dormant, {}),
                sessions,
                transient_failures=0,
                mode_now=lambda: "partial",
            )
            figures["dormant check requests"] = sessions.requests_sent() - sent
        finally:
            stop.set()
            await monitor
            await sessions.aclose()
        figures["worst loop lag s"] = worst[0]
        return figures


def _serve_sandbox(systems: int) -> tuple[subprocess.Popen[str], str, str]:
    """The sandbox in its own process, so its work does not compete for this process's GIL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strategy_operator_dev.cli",
            "sandbox",
            "--port",
            "0",
            "--identity",
            f"bench:{KEY}:acme-*-*",
            "--generate",
            f"random:{systems}:acme-bench-run1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    network = url = ""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("network "):
            network = line.split()[1]
        elif line.startswith("url "):
            url = line.split()[1]
            break
    if not (network and url):
        process.kill()
        raise RuntimeError("the sandbox did not start")
    return process, url, network


def main() -> None:
    for systems in SIZES:
        process, url, network = _serve_sandbox(systems)
        try:
            figures = asyncio.run(_bench(url, network))
        finally:
            process.terminate()
            process.wait(timeout=30)
        lag_ok = "ok" if figures["worst loop lag s"] < LAG_TARGET else "OVER TARGET"
        dormant_ok = "ok" if figures["dormant check requests"] <= DORMANT_REQUEST_TARGET else "OVER TARGET"
        print(
            f"{systems} systems (random network): "
            f"first pass {figures['first pass s']:.2f} s ({figures['first pass requests']:.0f} requests), "
            f"second pass {figures['second pass s']:.2f} s ({figures['second pass requests']:.0f} requests), "
            f"dormant check {figures['dormant check requests']:.0f} requests "
            f"(target <= {DORMANT_REQUEST_TARGET}: {dormant_ok}), "
            f"worst event-loop lag {figures['worst loop lag s'] * 1000:.0f} ms (target < {LAG_TARGET * 1000:.0f} ms: {lag_ok})",
            flush=True,
        )


if __name__ == "__main__":
    main()
