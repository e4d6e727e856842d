"""One operator pass over a large network against the sandbox, and the event loop meanwhile.

The operator serves every resource, its probes and its watch streams from one event loop,
so a pass must never block it: the strategy's compute runs in a thread. This times a first
pass (cold caches), a second pass (warm) and a dormant check over real HTTP, and measures the
worst event-loop lag seen while they run (a 10 ms ticker on the same loop). Targets: loop lag
under 100 ms; a dormant check in at most 5 requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from passes import Passes, loop_lag, resource_spec, runner_for, start_sandbox

SIZES = (200, 1000)
LAG_TARGET = 0.100
DORMANT_REQUEST_TARGET = 5


async def _bench(url: str, network: str) -> dict[str, float]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        passes = Passes(runner_for(url, pool, iteration_timeout=600), resource_spec(network))
        figures: dict[str, float] = {}
        try:
            async with loop_lag() as worst:
                for label in ("first pass", "second pass"):
                    outcome = await passes.run()
                    assert outcome.result == "iterated", outcome.log
                    figures[f"{label} s"] = passes.seconds
                    figures[f"{label} requests"] = passes.requests
                await passes.run(status=passes.status.with_changes(status="dormant"))
                figures["dormant check requests"] = passes.requests
        finally:
            await passes.aclose()
        figures["worst loop lag s"] = worst[0]
        return figures


@contextlib.contextmanager
def random_network_sandbox(systems: int) -> Iterator[tuple[str, str]]:
    """(url, network): a sandbox in its own process (its work does not compete for this
    process's GIL) serving one random network, stopped by PID afterwards."""
    process, url, networks = start_sandbox("--generate", f"random:{systems}:acme-bench-run1")
    try:
        yield url, networks[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    for systems in SIZES:
        with random_network_sandbox(systems) as (url, network):
            figures = asyncio.run(_bench(url, network))
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
