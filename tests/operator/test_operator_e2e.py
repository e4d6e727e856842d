"""End to end: the real kube-apiserver, the sandbox over HTTP, `strategy-operator run` as a process."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from conftest import IDENTITY, KEY, actioned_by_transformation
from operator_harness import network_strategy, wait_for
from strategy_operator.schedule import parse_time

pytestmark = [pytest.mark.e2e, pytest.mark.kubernetes, pytest.mark.timeout(240)]

SCOPE = "acme-tyk2-run1"


def expected_plan(sandbox, network: str, **spec):
    """What the engine plans for the network as it is now, observed over the same HTTP API."""
    from strategy_operator.alchemiscale.client import AlchemiscaleClient
    from strategy_operator.alchemiscale.credentials import Credentials
    from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter, build_snapshot
    from strategy_operator.engine import Snapshot, plan_iteration

    async def observe():
        async with AlchemiscaleClient(sandbox.url, Credentials(IDENTITY, KEY)) as client:
            return await NetworkSnapshotter(client, network).observe()

    observation = asyncio.run(observe())
    document = build_snapshot(observation, strategy={"name": "ConnectivityStrategy"},
                              mode=spec.get("mode", "partial"), task_scaling=spec.get("taskScaling", "exponential"),
                              max_tasks_per_transformation=spec.get("maxTasksPerTransformation", 3),
                              state={"status": "awake", "lastIterationResultCount": 0})
    return plan_iteration(Snapshot.model_validate(document))


def test_first_iteration_actions_tasks_exactly_as_the_engine_plans(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=1)
    spec = {"taskScaling": "linear", "maxTasksPerTransformation": 4, "sleepInterval": 3600}
    plan = expected_plan(sandbox, network, **spec)
    assert plan.ran and sum(plan.create.values()) > 0

    cluster.credentials(IDENTITY, KEY)
    operator = start_operator(default_server=True)
    cluster.apply(network_strategy("first", network, **spec))

    status = wait_for(lambda: cluster.status("first").get("iterations") == 1 and cluster.status("first"),
                      timeout=60, what="the first iteration")
    assert actioned_by_transformation(sandbox.state, network) == Counter(
        {t: n for t, n in plan.targets.items() if n})
    assert dict(actioned_by_transformation(sandbox.state, network)) == {t: n for t, n in plan.create.items() if n}
    assert status["status"] == "awake"
    assert status["lastIterationResultCount"] == 0
    assert status["observedGeneration"] == cluster.resource("first")["metadata"]["generation"]
    assert status["effectiveSleepInterval"] == 3600
    summary = status["lastIterationSummary"]
    assert summary["tasksCreated"] == sum(plan.create.values())
    assert summary["transformationsWeighted"] == plan.summary.transformations_weighted
    last = parse_time(status["lastIteration"])
    assert parse_time(status["nextIteration"]) == last + timedelta(seconds=3600)
    ready = cluster.condition("first", "Ready")
    assert ready["status"] == "True" and ready["reason"] == "Iterated"
    assert cluster.condition("first", "Degraded")["status"] == "False"
    reasons = {event["reason"] for event in cluster.events("first")}
    assert "Iterated" in reasons

    # Not due again for an hour: further ticks change nothing.
    time.sleep(3)
    assert cluster.status("first")["iterations"] == 1
    assert sum(actioned_by_transformation(sandbox.state, network).values()) == sum(plan.create.values())

    # Metrics and probes.
    code, text = operator.get("/metrics")
    assert code == 200
    assert re.search(r'strategy_operator_iterations_total\{result="iterated"\} 1\.0', text)
    assert re.search(r'strategy_operator_tasks_total\{change="created"\} %d\.0' % sum(plan.create.values()), text)
    assert 'strategy_operator_strategies{status="awake"} 1.0' in text
    assert operator.get("/healthz")[0] == 200
    # Credentials never reach logs.
    assert KEY not in operator.log()
