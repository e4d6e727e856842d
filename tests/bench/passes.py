"""What the pass benchmarks share: the bound Secret, the runner, a loop-lag monitor, passes in a row.

Not a benchmark itself (`run.py` runs `bench_*.py` only); the benchmarks import it from this folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import normalize_server
from strategy_operator.controller.outcomes import PassOutcome, ResourceView
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.secrets import SecretCredentials
from strategy_operator.controller.sessions import SessionCache

KEY = "bench-key-0123456789"


class BoundSecrets:
    """The resource's Secret, bound by its owner to the bench's sandbox (credentials_policy)."""

    def __init__(self, url: str, identity: str = "bench", key: str = KEY) -> None:
        self.identity, self.key = identity, key
        self.servers = (normalize_server(url),)

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        return SecretCredentials(self.identity, self.key, self.servers)


def runner_for(url: str, executor: Executor | None, **config: Any) -> IterationRunner:
    settings = OperatorConfig(default_server=url, min_sleep_interval=1, tick=1, **config)
    return IterationRunner(settings, BoundSecrets(url), executor, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]


def resource_spec(network: str, **fields: Any) -> dict[str, Any]:
    return {
        "network": network,
        "strategy": {"name": "ConnectivityStrategy"},
        "server": {"credentialsSecret": "creds"},
        "sleepInterval": 60,
        **fields,
    }


@dataclass
class Passes:
    """Passes of one resource in a row, each seeing the status the one before wrote."""

    runner: IterationRunner
    spec: Mapping[str, Any]
    sessions: SessionCache = field(default_factory=SessionCache)
    status: NetworkStrategyStatus = field(default_factory=NetworkStrategyStatus)
    seconds: float = 0.0  # of the last pass
    requests: int = 0  # of the last pass

    async def run(
        self, spec: Mapping[str, Any] | None = None, status: NetworkStrategyStatus | None = None, generation: int = 1
    ) -> PassOutcome:
        """One pass, timed; the resource's status becomes what it wrote."""
        before = self.status if status is None else status
        sent = self.sessions.requests_sent()
        started = time.perf_counter()
        outcome = await self.runner.run(
            ResourceView("ns", "bench", generation, spec or self.spec, before, {}),
            self.sessions,
            transient_failures=0,
            mode_now=lambda: "partial",
        )
        self.seconds = time.perf_counter() - started
        self.requests = self.sessions.requests_sent() - sent
        self.status = before.merged(outcome.status_change)
        return outcome

    async def aclose(self) -> None:
        await self.sessions.aclose()


@contextlib.asynccontextmanager
async def loop_lag() -> AsyncIterator[list[float]]:
    """The worst event-loop lag (s) seen by a 10 ms ticker while the block runs, in `[0]`."""
    worst = [0.0]
    stop = asyncio.Event()

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.01)
            worst[0] = max(worst[0], loop.time() - before - 0.01)

    monitor = asyncio.create_task(tick())
    try:
        yield worst
    finally:
        stop.set()
        await monitor


def start_sandbox(*args: str, networks: int = 1) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`strategy-operator-dev sandbox` in its own process (its work does not compete for this
    process's GIL), serving the bench identity; its URL and the networks it announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", "strategy_operator_dev.cli", "sandbox", "--port", "0", "--log-level", "warning"]
        + ["--identity", f"bench:{KEY}:acme-*-*", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    announced_networks, url = announced(process)
    if not url or len(announced_networks) != networks:
        process.kill()
        process.wait(timeout=30)
        raise RuntimeError(f"the sandbox did not start (networks announced: {len(announced_networks)})")
    return process, url, announced_networks


def announced(process: subprocess.Popen[str]) -> tuple[list[str], str]:
    """The networks and URL a sandbox process prints on start (`network <key>` lines, then `url <url>`)."""
    networks, url = [], ""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("network "):
            networks.append(line.split()[1])
        elif line.startswith("url "):
            url = line.split()[1]
            break
    return networks, url
