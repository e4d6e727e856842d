"""One pass of the operator's IterationRunner with a strategy named by import path, over real HTTP.

The sandbox serves a network made of real gufe objects (its keyed chain verbatim) and real
ProtocolDAGResult payloads (zstd-compressed keyed chains, as alchemiscale stores them). No
Kubernetes here: the e2e test runs the same through the operator on the control plane.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mylab.protocols import measured_result

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import normalize_server
from strategy_operator.controller.outcomes import ResourceView
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.secrets import SecretCredentials
from strategy_operator.controller.sessions import SessionCache

from .gufe_networks import SCOPE, keyed_chain_document, network, scoped, stored_payload

KEY = "alice-secret-key-0123"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
PAYLOAD_ROUTE = "/transformations/{transformation_scoped_key}/{route}/{protocoldagresultref_scoped_key}"


class StaticSecrets:
    """The Secret ns/creds, bound by its owner to the sandbox (credentials_policy)."""

    def __init__(self, url: str) -> None:
        self.servers = (normalize_server(url),)

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        assert (namespace, name) == ("ns", "creds")
        return SecretCredentials("alice", KEY, self.servers)


@pytest.fixture
def sandbox():
    from strategy_operator_dev.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": (KEY, ["acme-tyk2-*"])}) as sb:
        yield sb


@pytest.fixture
def star(sandbox):
    """A real gufe star network A-B, A-C, A-D stored in the sandbox: (gufe network, its scoped key)."""
    net = network([("A", "B", "A_B"), ("A", "C", "A_C"), ("A", "D", "A_D")])
    return net, sandbox.state.add_keyed_chain_network(keyed_chain_document(net), SCOPE)


def runner_for(sandbox, **settings) -> IterationRunner:
    config = OperatorConfig(default_server=sandbox.url, min_sleep_interval=1, tick=1, **settings)
    return IterationRunner(config, StaticSecrets(sandbox.url), None, clock=lambda: NOW)  # type: ignore[arg-type]


def view(network_sk: str, strategy: dict, status: dict | None = None, **spec) -> ResourceView:
    body = {"network": network_sk, "strategy": strategy, "server": {"credentialsSecret": "creds"}, **spec}
    return ResourceView("ns", "x", 1, body, NetworkStrategyStatus.read(status), {})


async def run(runner: IterationRunner, resource: ResourceView, sessions: SessionCache | None = None):
    own = sessions is None
    sessions = sessions or SessionCache()
    try:
        outcome = await runner.run(resource, sessions, transient_failures=0, mode_now=lambda: "partial")
    finally:
        if own:
            await sessions.aclose()
    written = resource.status.merged(outcome.status_change)
    assert NetworkStrategyStatus.model_validate(written.document()) == written
    return outcome


def complete_with(sandbox, net, name: str, estimate: float, uncertainty: float) -> str:
    """Claim one of the transformation's tasks and post a real ProtocolDAGResult for it."""
    transformation = next(t for t in net.edges if t.name == name)
    sk = scoped(transformation)
    task = next(t for t in sandbox.state.transformation_tasks(sk) if sandbox.state.task_status(t) == "waiting")
    sandbox.state.claim_task(task)
    pdr = measured_result(transformation, estimate, uncertainty)
    return sandbox.state.complete_task(task, payload=stored_payload(pdr), obj_key=str(pdr.key))


async def test_stratocaster_connectivity_by_import_path_acts_as_the_builtin(sandbox, star):
    net, network_sk = star
    outcome = await run(runner_for(sandbox), view(network_sk, {"name": "stratocaster.strategies.ConnectivityStrategy"}))
    assert outcome.result == "iterated", outcome.log
    change = outcome.status_change
    assert change.status == "awake" and change.iterations == 1
    # Star of 3 at the defaults: equal weights 1/3, exponential M=3 -> trunc(4^(1/3)) = 1 task each.
    assert sorted(len(sandbox.state.transformation_tasks(scoped(t))) for t in net.edges) == [1, 1, 1]
    assert sandbox.requests.count("GET", "/networks/{network_scoped_key}") == 1

    builtin_net = network([("P", "Q", "P_Q"), ("P", "R", "P_R"), ("P", "S", "P_S")])
    builtin_sk = sandbox.state.add_keyed_chain_network(keyed_chain_document(builtin_net), SCOPE)
    builtin = await run(runner_for(sandbox), view(builtin_sk, {"name": "ConnectivityStrategy"}))
    assert builtin.status_change.last_iteration_summary == change.last_iteration_summary


async def test_stratocaster_results_are_fetched_once_and_the_network_once(sandbox, star):
    net, network_sk = star
    runner = runner_for(sandbox)
    sessions = SessionCache()
    strategy = {"name": "mylab.strategies:UncertaintyStrategy", "classSettings": {"target_uncertainty": 0.2}}
    try:
        resource = view(network_sk, strategy, sleepInterval=1)
        first = await run(runner_for(sandbox, allowed_strategies=("mylab.strategies.*",)), resource, sessions)
        runner = runner_for(sandbox, allowed_strategies=("mylab.strategies.*",))
        complete_with(sandbox, net, "A_B", 1.0, 0.5)
        complete_with(sandbox, net, "A_C", 2.0, 0.1)  # already certain enough: finished
        second = await run(runner, view(network_sk, strategy, first.status_change.document()), sessions)
        assert second.result == "iterated", second.log
        assert sandbox.requests.count("GET", PAYLOAD_ROUTE) == 2
        third = await run(runner, view(network_sk, strategy, second.status_change.document()), sessions)
        assert third.result == "iterated", third.log
        assert sandbox.requests.count("GET", PAYLOAD_ROUTE) == 2  # cached: results never change
        stats = runner.result_cache_stats()
        assert (stats.entries, stats.misses, stats.hits) == (2, 2, 2)
    finally:
        await sessions.aclose()
    # Values, not counts, decided: A_C (uncertainty 0.1 <= 0.2) is finished, A_B (0.5) and A_D (none) are not.
    weights = {t.name: len(sandbox.state.transformation_tasks(scoped(t))) for t in net.edges}
    assert weights == {"A_B": 2, "A_C": 1, "A_D": 2}, weights


async def test_stratocaster_result_cache_is_bounded(sandbox, star):
    net, network_sk = star
    strategy = {"name": "mylab.strategies:UncertaintyStrategy", "classSettings": {"target_uncertainty": 0.01}}
    runner = runner_for(sandbox, allowed_strategies=("mylab.strategies.*",), result_cache_entries=1)
    await run(runner, view(network_sk, strategy))
    complete_with(sandbox, net, "A_B", 1.0, 0.5)
    complete_with(sandbox, net, "A_C", 1.0, 0.5)
    outcome = await run(runner, view(network_sk, strategy, {"status": "awake", "iterations": 1}))
    assert outcome.result == "iterated", outcome.log
    stats = runner.result_cache_stats()
    assert stats.entries == 1 and stats.capacity == 1 and stats.evictions >= 1


def _assert_refused(sandbox, outcome, kind: str, *needles: str) -> None:
    assert outcome.result == "error", outcome.log
    status = outcome.status_change.document()
    assert status["status"] == "error" and status["exception"]["type"] == kind, status["exception"]
    for needle in needles:
        assert needle in status["exception"]["message"], status["exception"]["message"]
    assert kind in status["traceback"]
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", kind)]
    assert not sandbox.state.tasks, "nothing may be created or actioned"


async def test_stratocaster_class_outside_the_allow_list_is_refused_before_any_import(sandbox, star):
    import sys

    _, network_sk = star
    outcome = await run(runner_for(sandbox), view(network_sk, {"name": "mylab.broken:Unreachable"}))
    _assert_refused(sandbox, outcome, "StrategyNotAllowed", "spec.strategy.name", "stratocaster.strategies.*")
    assert "mylab.broken" not in sys.modules
    assert sandbox.requests.total == 0


async def test_stratocaster_module_that_does_not_import_is_an_error(sandbox, star):
    _, network_sk = star
    runner = runner_for(sandbox, allowed_strategies=("mylab.*",))
    outcome = await run(runner, view(network_sk, {"name": "mylab.broken:Unreachable"}))
    _assert_refused(
        sandbox, outcome, "StrategyImportFailed", "spec.strategy.name", "mylab_dependency_that_is_not_installed"
    )
    assert "ModuleNotFoundError" in outcome.status_change.traceback


async def test_stratocaster_attribute_that_is_no_strategy_is_an_error(sandbox, star):
    _, network_sk = star
    runner = runner_for(sandbox, allowed_strategies=("mylab.*",))
    outcome = await run(runner, view(network_sk, {"name": "mylab.strategies.not_a_strategy"}))
    _assert_refused(sandbox, outcome, "StrategyImportFailed", "not a stratocaster Strategy class")


@pytest.mark.parametrize(
    ("class_settings", "field"),
    [
        ({"target_uncertainty": -1}, "spec.strategy.classSettings.target_uncertainty"),
        ({"target_uncertainty": 0.1, "max_run": 3}, "spec.strategy.classSettings.max_run"),
        ({"max_runs": 3}, "spec.strategy.classSettings.target_uncertainty"),
    ],
)
async def test_stratocaster_bad_settings_name_the_field(sandbox, star, class_settings, field):
    _, network_sk = star
    runner = runner_for(sandbox, allowed_strategies=("mylab.*",))
    strategy = {"name": "mylab.strategies:UncertaintyStrategy", "classSettings": class_settings}
    outcome = await run(runner, view(network_sk, strategy))
    _assert_refused(sandbox, outcome, "StrategySettingsInvalid", field)


async def test_stratocaster_settings_of_stratocaster_classes_name_the_field(sandbox, star):
    _, network_sk = star
    strategy = {"name": "stratocaster.strategies.ConnectivityStrategy", "classSettings": {"max_runs": 0}}
    outcome = await run(runner_for(sandbox), view(network_sk, strategy))
    _assert_refused(sandbox, outcome, "StrategySettingsInvalid", "spec.strategy.classSettings.max_runs")


async def test_stratocaster_propose_that_raises_is_an_error_with_its_traceback(sandbox, star):
    _, network_sk = star
    runner = runner_for(sandbox, allowed_strategies=("mylab.strategies:RaisingStrategy",))
    outcome = await run(runner, view(network_sk, {"name": "mylab.strategies.RaisingStrategy"}))
    _assert_refused(sandbox, outcome, "ProposeFailed", "not calibrated")
    assert "RuntimeError: the uncertainty model is not calibrated" in outcome.status_change.traceback
    assert "_propose" in outcome.status_change.traceback
