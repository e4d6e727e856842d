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

from bench_operator import random_network_sandbox
from passes import Passes, loop_lag, resource_spec, runner_for

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.engine.vocabulary import MAX_SLEEP_INTERVAL, MAX_TASKS_PER_TRANSFORMATION

SYSTEMS = (200, 1000)
LAG_TARGET = 0.100


async def _bench(url: str, network: str) -> dict[str, float]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        spec = resource_spec(
            network,
            taskScaling="linear",
            maxTasksPerTransformation=MAX_TASKS_PER_TRANSFORMATION,
            sleepInterval=MAX_SLEEP_INTERVAL,
        )
        passes = Passes(runner_for(url, pool, iteration_timeout=600), spec)
        figures: dict[str, float] = {"passes": 0, "created": 0, "most created in a pass": 0, "slowest pass s": 0.0}
        try:
            async with loop_lag() as worst:
                for _ in range(20):
                    outcome = await passes.run()
                    assert outcome.result == "iterated", outcome.log
                    figures["slowest pass s"] = max(figures["slowest pass s"], passes.seconds)
                    summary = passes.status.last_iteration_summary
                    assert summary is not None
                    figures["passes"] += 1
                    figures["created"] += summary.tasks_created
                    figures["most created in a pass"] = max(figures["most created in a pass"], summary.tasks_created)
                    if not summary.tasks_deferred:
                        break
                too_large = {**spec, "maxTasksPerTransformation": 2**63 - 1}
                started = time.perf_counter()
                refused = await passes.run(too_large, NetworkStrategyStatus(), generation=2)
                figures["int64 spec refused in s"] = time.perf_counter() - started
                exception = refused.status_change.exception
                assert refused.result == "error" and exception is not None
                assert "maxTasksPerTransformation" in exception.message
        finally:
            await passes.aclose()
        figures["worst loop lag s"] = worst[0]
        return figures


def main() -> None:
    for systems in SYSTEMS:
        with random_network_sandbox(systems) as (url, network):
            figures = asyncio.run(_bench(url, network))
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
