"""The operator end to end on the real alchemiscale 0.8.0 server: the local kube-apiserver,
`strategy-operator run` as a process, the real user API, real compute between iterations."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials

from ..controller.operator_harness import (
    assert_recovers,
    assert_rides_out_outage,
    network_strategy,
    planned_now,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.kubernetes, pytest.mark.timeout(900)]


def _scope(org: str = "acme") -> str:
    return f"{org}-e{uuid.uuid4().hex[:8]}-run1"


def _reader(stack) -> AlchemiscaleClient:
    return AlchemiscaleClient(stack.user_api_url, Credentials(stack.admin.identifier, stack.admin.key))


def actioned_by_transformation(stack, network: str) -> Counter:
    async def read() -> Counter:
        async with _reader(stack) as client:
            tasks = await client.network_actioned_tasks(network)
            return Counter([await client.task_transformation(t) for t in tasks])

    return asyncio.run(read())


def expected_plan(stack, network: str, **spec):
    return planned_now(stack.user_api_url, stack.user.identifier, stack.user.key, network, **spec)


def _network(stack, transformations: int = 3, scope: str | None = None) -> dict:
    return stack.driver("create_network", {"scope": scope or _scope(), "name": "e2e", "systems": transformations + 1})


def test_first_iteration_actions_tasks_exactly_as_the_engine_plans(real_alchemiscale, cluster, start_operator):
    stack = real_alchemiscale
    network = _network(stack, 4)["network"]
    spec = {"taskScaling": "linear", "maxTasksPerTransformation": 4, "sleepInterval": 3600}
    plan = expected_plan(stack, network, **spec)
    assert plan.ran and sum(plan.create.values()) > 0
    cluster.credentials(stack.user.identifier, stack.user.key)
    start_operator()
    cluster.apply(network_strategy("first", network, **spec))
    status = wait_for(
        lambda: cluster.status("first").get("iterations") == 1 and cluster.status("first"),
        timeout=120,
        what="the first iteration",
    )
    assert actioned_by_transformation(stack, network) == Counter({t: n for t, n in plan.targets.items() if n})
    assert status["status"] == "awake" and status["lastIterationSummary"]["tasksCreated"] == sum(plan.create.values())
    assert cluster.condition("first", "Ready")["reason"] == "Iterated"


def test_real_compute_converges_to_dormant(real_alchemiscale, cluster, start_operator):
    stack = real_alchemiscale
    created = _network(stack, 2)
    network = created["network"]
    cluster.credentials(stack.user.identifier, stack.user.key)
    start_operator()
    cluster.apply(network_strategy("converge", network, sleepInterval=1, maxTasksPerTransformation=2))
    deadline = time.monotonic() + 600
    while cluster.status("converge").get("status") != "dormant":
        assert time.monotonic() < deadline, cluster.status("converge")
        assert cluster.status("converge").get("status") != "error", cluster.status("converge")
        stack.driver("compute", {"scopes": [network.split("-", 2)[2]]})
        time.sleep(2)
    status = cluster.status("converge")

    async def results() -> dict[str, int]:
        async with _reader(stack) as client:
            return {t: len(await client.transformation_results(t)) for t in created["transformations"]}

    counts = asyncio.run(results())
    assert all(n >= 3 for n in counts.values()), counts  # ConnectivityStrategy's max_runs 3
    assert status["lastIterationResultCount"] == sum(counts.values())
    assert cluster.condition("converge", "Ready")["reason"] == "Dormant"


def test_full_mode_cancels_and_partial_mode_does_not(real_alchemiscale, cluster, start_operator):
    stack = real_alchemiscale
    networks = {mode: _network(stack, 3) for mode in ("full", "partial")}
    for created in networks.values():
        tasks = stack.driver(
            "create_tasks", {"transformations": [t for t in created["transformations"] for _ in range(3)]}
        )["tasks"]
        stack.driver("action_tasks", {"network": created["network"], "tasks": tasks})
    plan = expected_plan(stack, networks["full"]["network"], mode="full", maxTasksPerTransformation=2)
    assert plan.cancel, "the setup must leave the full-mode strategy something to cancel"
    cluster.credentials(stack.user.identifier, stack.user.key)
    start_operator()
    for mode, created in networks.items():
        cluster.apply(
            network_strategy(mode, created["network"], mode=mode, sleepInterval=3600, maxTasksPerTransformation=2)
        )
    for mode in networks:
        wait_for(lambda name=mode: cluster.status(name).get("iterations") == 1, timeout=120, what=f"{mode}'s iteration")
    assert actioned_by_transformation(stack, networks["full"]["network"]) == Counter(
        {t: n for t, n in plan.targets.items() if n}
    )
    assert cluster.status("full")["lastIterationSummary"]["tasksCancelled"] == len(plan.cancel)
    assert set(actioned_by_transformation(stack, networks["partial"]["network"]).values()) == {3}
    assert cluster.status("partial")["lastIterationSummary"]["tasksCancelled"] == 0


def test_a_scope_the_identity_lacks_is_an_error_until_granted_and_woken(real_alchemiscale, cluster, start_operator):
    stack = real_alchemiscale
    scope = _scope("globex")  # alice's scopes are acme-*-*
    network = _network(stack, 2, scope=scope)["network"]
    cluster.credentials(stack.user.identifier, stack.user.key)
    operator = start_operator()
    cluster.apply(network_strategy("forbidden", network, sleepInterval=1))
    status = wait_for(
        lambda: cluster.status("forbidden").get("status") == "error" and cluster.status("forbidden"),
        timeout=120,
        what="the strategy in error",
    )
    assert status["exception"]["type"] == "ScopeNotPermitted", status["exception"]
    stack.driver("add_scope", {"identifier": stack.user.identifier, "scope": scope})
    cluster.wake("forbidden", "granted-1")
    woken = wait_for(
        lambda: cluster.status("forbidden").get("status") == "awake" and cluster.status("forbidden"),
        timeout=120,
        what="the woken strategy to iterate",
    )
    assert woken["lastWakeToken"] == "granted-1" and "exception" not in woken
    assert actioned_by_transformation(stack, network)
    assert stack.user.key not in operator.log()


def test_a_user_api_outage_recovers_without_error(real_alchemiscale, cluster, start_operator):
    stack = real_alchemiscale
    network = _network(stack, 2)["network"]
    cluster.credentials(stack.user.identifier, stack.user.key)
    start_operator()
    stack.stop_user_api()
    try:
        cluster.apply(network_strategy("flaky", network, sleepInterval=3600))
        assert_rides_out_outage(cluster, "flaky", timeout=120)
    finally:
        stack.start_user_api()
    assert_recovers(cluster, "flaky", timeout=180, what="recovery after the user API is back")
    assert actioned_by_transformation(stack, network)
