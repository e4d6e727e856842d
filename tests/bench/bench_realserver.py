"""The operator's iterations against upstream's own, on the real alchemiscale 0.8.0 server.

Run by `make bench` when the real-server stack is built (`make realserver`), or on a running
one with `REALSERVER_ATTACH=<workdir>`; otherwise it says so and measures nothing. For each size
(`REALSERVER_BENCH_SIZES`, default 150,1000 transformations) a star network of real gufe objects
gets one task per transformation (at most 150, computed by the real compute service, so there are
results to read); then upstream's unmodified Strategist iterates it once (`_execute_strategy`, its
wall time inside the process, imports excluded), then the operator observes, plans and executes
(cold: a new client and snapshotter), then once more with nothing changed. Targets: the no-change
iteration at least 100x faster than upstream's, the cold one no slower than upstream's.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

COMPUTED = 150


async def _operator_iteration(client, snapshotter, network: str, state: dict | None) -> tuple[int, float, dict]:
    from strategy_operator.alchemiscale import build_snapshot, execute_plan
    from strategy_operator.engine import Snapshot, plan_iteration

    before = client.requests_sent
    started = time.perf_counter()
    observation = await snapshotter.observe()
    document = build_snapshot(
        observation, strategy={"name": "ConnectivityStrategy", "settings": {"max_runs": 3}}, state=state
    )
    plan = plan_iteration(Snapshot.model_validate(document))
    await execute_plan(client, network, plan)
    seconds = time.perf_counter() - started
    new_state = {"status": plan.status, "lastIterationResultCount": plan.result_count} if plan.ran else state
    return client.requests_sent - before, seconds, new_state


def _bench(stack, size: int) -> None:
    from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, NetworkSnapshotter

    scope = f"acme-b{uuid.uuid4().hex[:8]}-run1"
    started = time.perf_counter()
    network = stack.driver(
        "create_network", {"scope": scope, "name": f"bench{size}", "systems": size + 1}, timeout=3000
    )
    computed = network["transformations"][:COMPUTED]
    tasks = stack.driver("create_tasks", {"transformations": computed}, timeout=3000)["tasks"]
    stack.driver("action_tasks", {"network": network["network"], "tasks": tasks})
    stack.driver("compute", {"scopes": [scope], "claim_limit": 50}, timeout=3000)
    stack.driver(
        "set_strategy",
        {"network": network["network"], "name": "ConnectivityStrategy", "settings": {"max_runs": 3}, "mode": "partial"},
    )
    setup = time.perf_counter() - started
    upstream = stack.driver("strategist_iteration", {"network": network["network"]}, timeout=3000)

    async def operator() -> tuple[tuple, tuple]:
        credentials = Credentials(stack.user.identifier, stack.user.key)
        async with AlchemiscaleClient(stack.user_api_url, credentials, timeout=120) as client:
            snapshotter = NetworkSnapshotter(client, network["network"])
            cold = await _operator_iteration(client, snapshotter, network["network"], None)
            warm = await _operator_iteration(client, snapshotter, network["network"], cold[2])
            return cold, warm

    cold, warm = asyncio.run(operator())
    up = upstream["seconds"]
    print(f"  {size} transformations ({len(computed)} with a result; set up in {setup:.0f} s)")
    print(f"    upstream Strategist iteration: {up:.2f} s (status {upstream['status']})")
    print(
        f"    operator cold iteration:       {cold[0]} requests, {cold[1]:.2f} s   cold/upstream = {cold[1] / up:.3f} (target <= 1)"
    )
    print(
        f"    operator no-change iteration:  {warm[0]} requests, {warm[1]:.3f} s   upstream/no-change = {up / warm[1]:.0f}x (target >= 100x)",
        flush=True,
    )


def main() -> None:
    from strategy_operator_dev.realserver import build
    from strategy_operator_dev.realserver.stack import RealAlchemiscale

    attach = os.environ.get("REALSERVER_ATTACH")
    if not attach and not build.is_built():
        print("  not measured: the real-server stack is not built (make realserver)")
        return
    sizes = [int(s) for s in os.environ.get("REALSERVER_BENCH_SIZES", "150,1000").split(",")]
    stack = RealAlchemiscale.attach(Path(attach)) if attach else RealAlchemiscale.start(lifetime=3 * 3600)
    try:
        if not attach:
            print(f"  stack started in {stack.started_in:.0f} s")
        for size in sizes:
            _bench(stack, size)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
