"""The simulation decides what the operator decides: same network, same seed, same compute.

The operator's own `IterationRunner` runs against the sandbox over real HTTP while the
sandbox's compute simulator is stepped by hand between iterations; `simulate` runs the same
network from the same seed on its own compute model. Every iteration's plan (weights,
targets, which tasks are actioned or cancelled, how many are created) must be identical.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import strategy_operator.controller.reconcile as iteration_module
from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.observation import build_snapshot
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter
from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import normalize_server
from strategy_operator.controller.outcomes import ResourceView
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.secrets import SecretCredentials
from strategy_operator.controller.sessions import SessionCache
from strategy_operator.engine import Snapshot
from strategy_operator.engine.vocabulary import Mode, TaskScaling
from strategy_operator.planning import Choice, ComputeModel, Schedule, simulate
from strategy_operator.planning.networks import load_network_file
from strategy_operator_dev.sandbox.networks import sample_networks
from strategy_operator_dev.sandbox.testing import ComputeSettings, running_sandbox

KEY = "alice-secret-key-0123"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
INTERVAL, STEP = 10.0, 0.5


class StaticSecrets:
    """The resource's Secret, bound by its owner to the sandbox (credentials_policy)."""

    def __init__(self, url: str) -> None:
        self.servers = (normalize_server(url),)

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        return SecretCredentials("alice", KEY, self.servers)


async def operator_plans(sandbox, network: str, spec: dict, iterations: int, monkeypatch) -> list[dict | None]:
    """Run `iterations` passes of the real runner, stepping the sandbox's compute between them."""
    seen = []
    real = iteration_module.plan_observation

    def spy(*args):
        plan = real(*args)
        seen.append(plan)
        return plan

    monkeypatch.setattr(iteration_module, "plan_observation", spy)
    settings = OperatorConfig(default_server=sandbox.url, min_sleep_interval=1, tick=1)
    runner = IterationRunner(settings, StaticSecrets(sandbox.url), None, clock=lambda: NOW)  # type: ignore[arg-type]
    body = {"network": network, "server": {"credentialsSecret": "creds"}, "sleepInterval": int(INTERVAL), **spec}
    status = NetworkStrategyStatus()
    sessions = SessionCache()
    plans: list[dict | None] = []
    try:
        for _ in range(iterations):
            before = len(seen)
            outcome = await runner.run(
                ResourceView("ns", "x", 1, body, status, {}),
                sessions,
                transient_failures=0,
                mode_now=lambda: spec["mode"],
            )
            assert outcome.result in ("iterated", "unchanged"), outcome.log
            status = status.merged(outcome.status_change)
            ran = len(seen) > before and seen[-1].ran
            plans.append(seen[-1].to_json() if ran else None)
            for _ in range(round(INTERVAL / STEP)):
                sandbox.simulator.step(STEP)
    finally:
        await sessions.aclose()
    return plans


async def live_snapshot(sandbox, network: str, spec: dict) -> Snapshot:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", KEY)) as client:
        observation = await NetworkSnapshotter(client, network).observe()
    return Snapshot.model_validate(build_snapshot(observation, strategy=spec["strategy"]))


def case(strategy: dict, mode: str, scaling: str, most: int, failure_rate: float, name: str):
    spec = {"strategy": strategy, "mode": mode, "taskScaling": scaling, "maxTasksPerTransformation": most}
    return pytest.param(spec, failure_rate, id=name)


CONNECTIVITY = {"name": "ConnectivityStrategy"}
CASES = [
    case(CONNECTIVITY, "partial", "exponential", 3, 0.0, "connectivity-partial-exponential"),
    case({**CONNECTIVITY, "settings": {"max_runs": 2}}, "full", "linear", 4, 0.0, "connectivity-full-linear"),
    case({"name": "RadialGrowthStrategy"}, "full", "exponential", 5, 0.0, "radialgrowth-full"),
    case(CONNECTIVITY, "partial", "linear", 3, 0.15, "connectivity-partial-failures"),
    case(
        {**CONNECTIVITY, "settings": {"max_runs": 4}},
        "full",
        "exponential",
        6,
        0.05,
        "tyk2-star-with-a-nontransformation",
    ),
]


def load_network(state, case_id: str) -> str:
    if case_id.startswith("tyk2-star"):
        # Its NonTransformation checks that task keys are drawn in the server's creation order.
        return state.add_network(load_network_file(sample_networks()["tyk2-star"]))
    return state.generate_network("random", systems=10, transformations=18, scope="acme-tyk2-run1", seed=5)


@pytest.mark.parametrize(("spec", "failure_probability"), CASES)
async def test_simulation_plans_are_the_operators(spec, failure_probability, monkeypatch, request):
    seed = 11
    compute = ComputeSettings(rate=1.5, duration=2.0, failure_probability=failure_probability, seed=seed)
    with running_sandbox(
        identities={"alice": (KEY, ["acme-tyk2-*"])}, compute=compute, start_compute=False, seed=seed
    ) as sandbox:
        network = load_network(sandbox.state, request.node.callspec.id)
        base = await live_snapshot(sandbox, network, spec)
        choice = Choice(Mode(spec["mode"]), TaskScaling(spec["taskScaling"]), spec["maxTasksPerTransformation"])
        model = ComputeModel(rate=1.5, duration=2.0, failure_probability=failure_probability, seed=seed)
        result = simulate(
            base, choice, model, Schedule(sleep_interval=INTERVAL, step=STEP, max_iterations=60), keep_plans=True
        )
        simulated = [plan.to_json() if plan.ran else None for plan in result.plans]
        assert result.outcome in ("dormant", "stalled"), result.outcome
        assert sum(plan is not None for plan in simulated) >= 3
        operated = await operator_plans(sandbox, network, spec, len(simulated), monkeypatch)

    for index, (mine, theirs) in enumerate(zip(simulated, operated, strict=False)):
        assert mine == theirs, f"iteration {index} differs"
    assert len(simulated) == len(operated)
    if failure_probability == 0:
        assert result.outcome == "dormant"
        assert simulated[-1] is None or simulated[-1]["status"] == "dormant"
