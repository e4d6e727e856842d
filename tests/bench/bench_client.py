"""Requests and wall time of the alchemiscale client against the sandbox (issue 3 targets).

For star networks of 100, 1000 and 5000 transformations, each transformation holding a
completed task (one successful result), a failed task and a waiting actioned task:
- cold: a fresh client and snapshotter (operator start-up), median of three;
- no change: the next observation with nothing changed on the server, median of three;
- plan: create 1 task for every 5th transformation, action the unactioned ones, cancel
  every 10th waiting task — then the observation after it.

The sandbox serves real HTTP on loopback from a child process (as a real server would be a
separate process), populated directly in its memory before it serves; the client runs in
this process. Wall times therefore include the sandbox's FastAPI work on another core.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, NetworkSnapshotter, execute_plan
from strategy_operator.scopedkey import ScopedKey

SIZES = (100, 1000, 5000)
KEY = "bench-key"
SCOPE = "acme-tyk2-bench"


class _Plan:
    def __init__(self, action, create, cancel) -> None:
        self.action, self.create, self.cancel = action, create, cancel


def _populate(state, network: str) -> None:
    transformations = sorted(state.transformations(network))
    tasks = state.create_tasks([t for t in transformations for _ in range(3)])
    state.action_tasks(ScopedKey.from_str(network), tasks)
    for index in range(0, len(tasks), 3):
        done, failed = tasks[index], tasks[index + 1]
        state.claim_task(done)
        state.complete_task(done, ok=True)
        state.claim_task(failed)
        state.complete_task(failed, ok=False)


def _serve(size: int, connection) -> None:
    from strategy_operator_dev.sandbox.testing import running_sandbox

    with running_sandbox(identities={"bench": (KEY, [SCOPE])}, shuffle=True) as sb:
        network = sb.state.generate_network(shape="star", systems=size + 1, scope=SCOPE, seed=size)
        _populate(sb.state, network)
        connection.send((sb.url, network))
        connection.recv()  # serve until the parent is done


async def _cold(url: str, network: str, size: int) -> tuple[int, float, float]:
    async with AlchemiscaleClient(url, Credentials("bench", KEY)) as client:
        start, cpu = time.perf_counter(), time.process_time()
        cold = await NetworkSnapshotter(client, network).observe()
        figures = (client.requests_sent, time.perf_counter() - start, time.process_time() - cpu)
    assert cold.result_count == size, (cold.result_count, size)
    return figures


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (the sandbox)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median(runs: list[tuple[int, float, float]]) -> tuple[int, float, float]:
    return sorted(runs, key=lambda run: run[1])[len(runs) // 2]


async def _measure(url: str, network: str, size: int) -> dict[str, tuple[int, float, float]]:
    figures: dict[str, tuple[int, float, float]] = {}
    # Median of three operator start-ups, each with a fresh client (new token, no caches).
    figures["cold"] = _median([await _cold(url, network, size) for _ in range(3)])
    async with AlchemiscaleClient(url, Credentials("bench", KEY)) as client:
        snapshotter = NetworkSnapshotter(client, network)
        await snapshotter.observe()

        runs = []
        for _ in range(3):
            before, start, cpu = client.requests_sent, time.perf_counter(), time.process_time()
            warm = await snapshotter.observe()
            runs.append((client.requests_sent - before, time.perf_counter() - start, time.process_time() - cpu))
            assert warm.result_count == size
        figures["no change"] = _median(runs)

        waiting = [t.key for t in warm.tasks if t.status == "waiting"]
        transformations = [t.key for t in warm.transformations]
        plan = _Plan(action=[], create={t: 1 for t in transformations[::5]}, cancel=waiting[::10])
        before, start, cpu = client.requests_sent, time.perf_counter(), time.process_time()
        await execute_plan(client, network, plan)
        figures["execute plan"] = (
            client.requests_sent - before,
            time.perf_counter() - start,
            time.process_time() - cpu,
        )

        before, start, cpu = client.requests_sent, time.perf_counter(), time.process_time()
        await snapshotter.observe()
        figures["after plan"] = (client.requests_sent - before, time.perf_counter() - start, time.process_time() - cpu)
    return figures


def main() -> None:
    context = multiprocessing.get_context("fork")
    with open("/proc/loadavg") as handle:
        print(f"load average before: {handle.read().split()[0]} on {os.cpu_count()} cores")
    print(
        f"{'transformations':>15} {'step':>13} {'requests':>9} {'target':>9} {'wall s':>8} {'target':>8} {'client cpu s':>13}"
    )
    for size in SIZES:
        parent_end, child_end = context.Pipe()
        server = context.Process(target=_serve, args=(size, child_end), daemon=True)
        server.start()
        try:
            url, network = parent_end.recv()
            sandbox_cpu = _process_cpu(server.pid)
            figures = asyncio.run(_measure(url, network, size))
            sandbox_cpu = _process_cpu(server.pid) - sandbox_cpu
        finally:
            parent_end.send("stop")
            server.join(30)
        request_targets = {"cold": f"<={2 * size + 10}", "no change": "<=10", "execute plan": "-", "after plan": "-"}
        time_targets = {"cold": "<=1.5", "no change": "<=0.2"} if size == 1000 else {}
        for step, (requests, seconds, cpu) in figures.items():
            print(
                f"{size:>15} {step:>13} {requests:>9} {request_targets[step]:>9} {seconds:>8.3f} "
                f"{time_targets.get(step, '-'):>8} {cpu:>13.3f}",
                flush=True,
            )
        print(f"{size:>15} {'(all steps)':>13} sandbox cpu {sandbox_cpu:.2f} s", flush=True)


if __name__ == "__main__":
    main()
