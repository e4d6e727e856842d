"""Passes at the largest values the CRD admits, and the event loop meanwhile (issue 13).

A random network (sandbox in its own process) weighed with maxTasksPerTransformation 100,
sleepInterval 30 days and the operator's default cap of 1000 tasks created per iteration:
the plan is spread over passes, and a 10 ms ticker on the operator's loop measures the
worst block. A spec with the int64 maximum (which once drove the operator to a MemoryError)
is refused by the model at once. Target: no pass blocks the loop for more than 100 ms.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from bench_operator import _lag_monitor, _Secrets, _serve_sandbox

from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.reconcile import IterationRunner, ResourceView, SessionCache
from strategy_operator.engine.vocabulary import MAX_SLEEP_INTERVAL, MAX_TASKS_PER_TRANSFORMATION

SYSTEMS = (200, 1000)
LAG_TARGET = 0.100


async def _bench(url: str, network: str) -> dict[str, float]:
    config = OperatorConfig(default_server=url, min_sleep_interval=1, tick=1, iteration_timeout=600)
    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = IterationRunner(config, _Secrets(url), pool, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
        spec = {
            "network": network,
            "strategy": {"name": "ConnectivityStrategy"},
            "taskScaling": "linear",
            "server": {"credentialsSecret": "creds"},
            "maxTasksPerTransformation": MAX_TASKS_PER_TRANSFORMATION,
            "sleepInterval": MAX_SLEEP_INTERVAL,
        }
        sessions = SessionCache()
        worst = [0.0]
        stop = asyncio.Event()
        monitor = asyncio.create_task(_lag_monitor(stop, worst))
        figures: dict[str, float] = {"passes": 0, "created": 0, "most created in a pass": 0, "slowest pass s": 0.0}
        status: dict = {}
        try:
            for _ in range(20):
                started = time.perf_counter()
                outcome = await runner.run(
                    ResourceView("ns", "bench", 1, spec, status, {}),
                    sessions,
                    transient_failures=0,
                    mode_now=lambda: "partial",
                )
                assert outcome.result == "iterated", outcome.log
                figures["slowest pass s"] = max(figures["slowest pass s"], time.perf_counter() - started)
                status = {**status, **{k: v for k, v in outcome.status.items() if v is not None}}
                summary = status["lastIterationSummary"]
                figures["passes"] += 1
                figures["created"] += summary["tasksCreated"]
                figures["most created in a pass"] = max(figures["most created in a pass"], summary["tasksCreated"])
                if not summary["tasksDeferred"]:
                    break
            too_large = {**spec, "maxTasksPerTransformation": 2**63 - 1}
            started = time.perf_counter()
            refused = await runner.run(
                ResourceView("ns", "bench", 2, too_large, {}, {}),
                sessions,
                transient_failures=0,
                mode_now=lambda: "partial",
            )
            figures["int64 spec refused in s"] = time.perf_counter() - started
            assert refused.result == "error" and "maxTasksPerTransformation" in refused.status["exception"]["message"]
        finally:
            stop.set()
            await monitor
            await sessions.aclose()
        figures["worst loop lag s"] = worst[0]
        return figures


def main() -> None:
    for systems in SYSTEMS:
        process, url, network = _serve_sandbox(systems)
        try:
            figures = asyncio.run(_bench(url, network))
        finally:
            process.terminate()
            process.wait(timeout=30)
        verdict = "ok" if figures["worst loop lag s"] < LAG_TARGET else "OVER TARGET"
        print(
            f"{systems} systems, maxTasksPerTransformation {MAX_TASKS_PER_TRANSFORMATION}, sleepInterval "
            f"{MAX_SLEEP_INTERVAL}: {figures['created']:.0f} tasks created over {figures['passes']:.0f} pass(es) "
            f"(at most {figures['most created in a pass']:.0f} per pass), slowest pass {figures['slowest pass s']:.2f} s; "
            f"int64 maximum refused in {figures['int64 spec refused in s'] * 1000:.1f} ms; worst event-loop lag "
            f"{figures['worst loop lag s'] * 1000:.0f} ms (target < {LAG_TARGET * 1000:.0f} ms: {verdict})",
            flush=True,
        )


if __name__ == "__main__":
    main()
