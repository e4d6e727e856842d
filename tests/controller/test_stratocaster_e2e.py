"""End to end with a user's own stratocaster Strategy that reads result values.

The real kube-apiserver, `strategy-operator run` as a process allowed to load
`mylab.strategies.*` (a test-only package on its PYTHONPATH), and the sandbox serving a
network made of real gufe objects with real ProtocolDAGResult payloads. This test plays
the compute service: it runs every actioned waiting task by posting a measured result.
The strategy finishes a transformation once its estimate is certain enough, so the
transformation measured precisely is run once, not max_runs times, and the resource
converges to dormant with a status that matches what the sandbox holds.
"""

from __future__ import annotations

import sys
import threading

import pytest
import yaml

from strategy_operator_dev.repo import repo_root

from .operator_harness import IDENTITY, KEY, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kubernetes, pytest.mark.timeout(300)]

USER_PACKAGES = repo_root() / "tests" / "stratocaster" / "userpkg"
if str(USER_PACKAGES) not in sys.path:  # mylab, the test-only user package, for building its results here
    sys.path.insert(0, str(USER_PACKAGES))

# Per-run uncertainty of each transformation's measurements; the target is 0.2, so the mean
# of k runs is certain enough once u / sqrt(k) <= 0.2.
UNCERTAINTY = {"A_B": 0.1, "A_C": 0.3, "A_D": 0.5}
RUNS_NEEDED = {"A_B": 1, "A_C": 3, "A_D": 7}


class Compute(threading.Thread):
    """Runs actioned waiting tasks of one network: claims each and posts a real measured result."""

    def __init__(self, sandbox, net, network_sk: str) -> None:
        super().__init__(daemon=True, name="stratocaster-compute")
        from ..stratocaster.gufe_networks import scoped

        self.sandbox, self.network_sk = sandbox, network_sk
        self.by_sk = {scoped(t): t for t in net.edges}
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from mylab.protocols import measured_result

        from ..stratocaster.gufe_networks import stored_payload

        state = self.sandbox.state
        try:
            while not self.stop.wait(0.2):
                for task in list(state.actioned_tasks(self.network_sk)):
                    if state.task_status(task) != "waiting":
                        continue
                    transformation = self.by_sk[state.task_transformation(task)]
                    state.claim_task(task)
                    pdr = measured_result(transformation, 1.0, UNCERTAINTY[transformation.name])
                    state.complete_task(task, payload=stored_payload(pdr), obj_key=str(pdr.key))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def test_stratocaster_user_strategy_on_result_values_converges(sandbox, cluster, start_operator, monkeypatch):
    from ..stratocaster.gufe_networks import SCOPE, keyed_chain_document, network, scoped

    net = network([("A", "B", "A_B"), ("A", "C", "A_C"), ("A", "D", "A_D")])
    network_sk = sandbox.state.add_keyed_chain_network(keyed_chain_document(net), SCOPE)
    cluster.credentials(IDENTITY, KEY)
    monkeypatch.setenv("PYTHONPATH", str(USER_PACKAGES))
    operator = start_operator("--allowed-strategies", "mylab.strategies.*", default_server=True)
    compute = Compute(sandbox, net, network_sk)
    compute.start()
    try:
        cluster.apply(
            yaml.safe_dump(
                {
                    "apiVersion": "alchemiscale.org/v1alpha1",
                    "kind": "NetworkStrategy",
                    "metadata": {"name": "measured"},
                    "spec": {
                        "network": network_sk,
                        "sleepInterval": 1,
                        "server": {"credentialsSecret": "alchemiscale-creds"},
                        "strategy": {
                            "name": "mylab.strategies:UncertaintyStrategy",
                            "classSettings": {"target_uncertainty": 0.2, "max_runs": 10},
                        },
                    },
                }
            )
        )
        status = wait_for(
            lambda: (s := cluster.status("measured")).get("status") == "dormant" and s,
            timeout=180,
            interval=0.5,
            what="the measured network to converge (dormant)",
        )
    finally:
        compute.stop.set()
        compute.join(timeout=10)
    assert compute.error is None, compute.error

    results = {t.name: len(sandbox.state.transformation_results(scoped(t))) for t in net.edges}
    for name, needed in RUNS_NEEDED.items():
        assert results[name] >= needed, results
    assert results["A_B"] == 1, "measured precisely once: finished by its value, not by max_runs"
    assert status["lastIterationResultCount"] == sum(results.values())
    assert "exception" not in status and "traceback" not in status
    ready = cluster.condition("measured", "Ready")
    assert ready["status"] == "True", ready
    assert {e["reason"] for e in cluster.events("measured")} >= {"Iterated", "Dormant"}
    assert not sandbox.state.actioned_tasks(network_sk), "nothing is left actioned: every task ran"
    code, text = operator.get("/metrics")
    assert code == 200
    total = sum(results.values())
    assert f'strategy_operator_result_cache_lookups_total{{outcome="miss"}} {total}.0' in text, text[-2000:]
    assert "strategy_operator_result_cache_entries" in text


def test_stratocaster_class_outside_the_allow_list_is_an_error_event(sandbox, cluster, start_operator):
    from ..stratocaster.gufe_networks import SCOPE, keyed_chain_document, network

    net = network([("A", "B", "A_B")])
    network_sk = sandbox.state.add_keyed_chain_network(keyed_chain_document(net), SCOPE)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)  # the default allow-list: stratocaster.strategies.*
    cluster.apply(
        yaml.safe_dump(
            {
                "apiVersion": "alchemiscale.org/v1alpha1",
                "kind": "NetworkStrategy",
                "metadata": {"name": "refused"},
                "spec": {
                    "network": network_sk,
                    "server": {"credentialsSecret": "alchemiscale-creds"},
                    "strategy": {"name": "mylab.strategies:UncertaintyStrategy"},
                },
            }
        )
    )
    status = wait_for(
        lambda: (s := cluster.status("refused")).get("status") == "error" and s, timeout=60, what="the refusal"
    )
    assert status["exception"]["type"] == "StrategyNotAllowed"
    assert "spec.strategy.name" in status["exception"]["message"]
    assert "StrategyNotAllowed" in {e["reason"] for e in cluster.events("refused")}
    assert not sandbox.state.tasks
