"""The operator under abuse, end to end (real API server, real operator process, sandbox over HTTP):
one owner per network, the server-side strategy, the resync of late results, the largest values."""

from __future__ import annotations

import time

from strategy_operator.controller.scheduling import parse_time
from strategy_operator.engine.vocabulary import MAX_SLEEP_INTERVAL, MAX_TASKS_PER_TRANSFORMATION

from .operator_harness import (
    IDENTITY,
    KEY,
    OPERATOR_E2E,
    actioned_by_transformation,
    network_strategy,
    peak_actioned_by_transformation,
    wait_for,
)

pytestmark = OPERATOR_E2E

NETWORK_SCOPE = "acme-tyk2-run1"  # inside the test identity's acme-tyk2-*
CHAIN = [
    [
        "ConnectivityStrategy-0123456789abcdef0123456789abcdef",
        {
            "__qualname__": "ConnectivityStrategy",
            "__module__": "stratocaster.strategies.connectivity",
            "settings": {"decay_rate": 0.5, "max_runs": 3},
        },
    ]
]


def test_a_second_strategy_on_a_network_stays_idle_until_the_owner_goes(sandbox, cluster, namespace, start_operator):
    network = sandbox.state.generate_network("star", systems=4, scope=NETWORK_SCOPE, seed=11)
    cluster.credentials(IDENTITY, KEY)
    cluster.apply(network_strategy("owner", network))
    time.sleep(1.1)  # creation timestamps have whole seconds
    cluster.apply(network_strategy("newcomer", network, maxTasksPerTransformation=5))
    start_operator(default_server=True)

    wait_for(lambda: cluster.status("owner").get("iterations") == 1, timeout=60, what="the owner's first pass")
    ready = wait_for(
        lambda: (
            cluster.condition("newcomer", "Ready").get("reason") == "NetworkOwnedElsewhere"
            and cluster.condition("newcomer", "Ready")
        ),
        timeout=30,
        what="the newcomer to report idle",
    )
    assert ready["status"] == "False"
    assert f"NetworkStrategy {namespace}/owner" in ready["message"] and network in ready["message"]
    assert cluster.condition("newcomer", "Progressing")["reason"] == "Idle"
    events = [e for e in cluster.events("newcomer") if e["reason"] == "NetworkOwnedElsewhere"]
    assert len(events) == 1 and f"{namespace}/owner" in events[0]["message"]
    time.sleep(3)
    assert "iterations" not in cluster.status("newcomer")
    # Only the owner's plan was carried out: 3 tasks per transformation at most, not the newcomer's 5.
    assert max(actioned_by_transformation(sandbox.state, network).values()) <= 3

    cluster.delete("owner")
    status = wait_for(
        lambda: cluster.status("newcomer").get("iterations") == 1 and cluster.status("newcomer"),
        timeout=60,
        what="the newcomer to take over once the owner is gone",
    )
    assert status["status"] == "awake"
    assert cluster.condition("newcomer", "Ready")["reason"] == "Iterated"


def test_a_strategy_stored_on_the_server_is_refused_until_taken_over(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=NETWORK_SCOPE, seed=12)
    sandbox.state.set_strategy(network, CHAIN, {"mode": "partial", "iterations": 7})
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    cluster.apply(network_strategy("contested", network))

    status = wait_for(
        lambda: cluster.status("contested").get("status") == "error" and cluster.status("contested"),
        timeout=60,
        what="the resource to refuse the network",
    )
    assert status["exception"]["type"] == "ServerStrategyActive"
    assert "spec.takeOverServerStrategy" in status["exception"]["message"]
    assert actioned_by_transformation(sandbox.state, network) == {}
    assert sandbox.state.strategy(network).state["mode"] == "partial"

    cluster.patch_spec("contested", {"takeOverServerStrategy": True})
    cluster.wake("contested", "take-over")
    status = wait_for(
        lambda: cluster.status("contested").get("status") == "awake" and cluster.status("contested"),
        timeout=60,
        what="the resource to take the network over",
    )
    assert status["iterations"] == 2
    record = sandbox.state.strategy(network)
    assert record.state["mode"] == "disabled" and record.state["iterations"] == 7
    assert "ServerStrategyDisabled" in {e["reason"] for e in cluster.events("contested")}
    assert sum(actioned_by_transformation(sandbox.state, network).values()) > 0


def test_a_late_result_on_a_complete_task_wakes_a_dormant_strategy_within_the_resync_interval(
    sandbox, cluster, start_operator
):
    from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator

    network = sandbox.state.generate_network("star", systems=3, scope=NETWORK_SCOPE, seed=13)
    simulator = Simulator(sandbox.state, ComputeSettings(rate=50, duration=0.05, seed=4))
    simulator.start()
    try:
        cluster.credentials(IDENTITY, KEY)
        start_operator("--resync-interval", "4", default_server=True)
        cluster.apply(network_strategy("late", network, sleepInterval=1, maxTasksPerTransformation=2))
        dormant = wait_for(
            lambda: cluster.status("late").get("status") == "dormant" and cluster.status("late"),
            timeout=120,
            what="the strategy to go dormant",
        )
    finally:
        simulator.stop()
    time.sleep(5)  # past one resync: the snapshotter's counts are fresh
    settled = cluster.status("late")
    # A compute service that lost its claim reports on a task that is complete by now: no status change.
    complete = sandbox.state.network_tasks(network, "complete")[0]
    sandbox.state.complete_task(complete, ok=True)
    posted = time.monotonic()
    after = wait_for(
        lambda: (
            cluster.status("late").get("lastIterationResultCount", 0) > settled["lastIterationResultCount"]
            and cluster.status("late")
        ),
        timeout=30,
        what="a pass counting the late result",
    )
    assert time.monotonic() - posted <= 4 + 3  # one resync interval, plus a tick and a pass
    assert after["lastIterationResultCount"] == settled["lastIterationResultCount"] + 1
    assert after["iterations"] == settled["iterations"] + 1
    assert dormant["iterations"] <= settled["iterations"]


def test_the_largest_values_the_crd_admits_run_capped_and_spread(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=6, scope=NETWORK_SCOPE, seed=14)
    transformations = sandbox.state.transformations(network)
    cluster.credentials(IDENTITY, KEY)
    cap = 40
    operator = start_operator("--max-tasks-created-per-iteration", str(cap), default_server=True)
    # Linear scaling, five equal weights of 0.2: trunc(1 + 0.2 x 100) = 21 tasks each, 105 in all.
    target = int(1 + MAX_TASKS_PER_TRANSFORMATION / len(transformations))
    with peak_actioned_by_transformation(sandbox.state, network) as peak:
        cluster.apply(
            network_strategy(
                "largest",
                network,
                taskScaling="linear",
                maxTasksPerTransformation=MAX_TASKS_PER_TRANSFORMATION,
                sleepInterval=MAX_SLEEP_INTERVAL,
            )
        )
        status = wait_for(
            lambda: (
                sum(actioned_by_transformation(sandbox.state, network).values()) == target * len(transformations)
                and cluster.status("largest").get("iterations", 0) >= 3
                and cluster.status("largest")
            ),
            timeout=90,
            what="the capped plan to be carried out",
        )
        time.sleep(2)
    assert set(peak.values()) == {target}, peak  # never above the transformation's target
    assert status["effectiveSleepInterval"] == MAX_SLEEP_INTERVAL
    # Events are listed in no particular order; their messages start with the iteration.
    iterated = {
        e["message"].split(":")[0]: e["message"] for e in cluster.events("largest") if e["reason"] == "Iterated"
    }
    assert f"created {cap}" in iterated["iteration 1"] and "65 more task(s) deferred" in iterated["iteration 1"]
    assert f"created {cap}" in iterated["iteration 2"] and "25 more task(s) deferred" in iterated["iteration 2"]
    assert "created 25" in iterated["iteration 3"] and "deferred" not in iterated["iteration 3"]
    final = cluster.status("largest")
    assert final["iterations"] == 3
    assert final["lastIterationSummary"]["tasksDeferred"] == 0
    assert final["lastIterationSummary"]["tasksCreated"] == target * len(transformations) - 2 * cap
    # Done spreading: the next pass waits the whole (largest) interval.
    assert (
        parse_time(final["nextIteration"]) - parse_time(final["lastIteration"])
    ).total_seconds() == MAX_SLEEP_INTERVAL
    assert operator.get("/healthz")[0] == 200


def test_resources_on_one_server_share_one_client_and_one_login(sandbox, cluster, start_operator):
    import re

    networks = [sandbox.state.generate_network("star", systems=3, scope=NETWORK_SCOPE, seed=20 + i) for i in range(6)]
    cluster.credentials(IDENTITY, KEY)
    sandbox.requests.reset()
    operator = start_operator(default_server=True)
    for i, network in enumerate(networks):
        cluster.apply(network_strategy(f"shared-{i}", network))
    wait_for(
        lambda: all(cluster.status(f"shared-{i}").get("iterations") == 1 for i in range(len(networks))),
        timeout=90,
        what="every resource's first pass",
    )
    assert sandbox.requests.count("POST", "/token") == 1
    code, text = operator.get("/metrics")
    counted = float(re.search(r"^strategy_operator_alchemiscale_requests_total (\S+)$", text, re.M).group(1))
    assert counted == sandbox.requests.total
