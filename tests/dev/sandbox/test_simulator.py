"""The compute simulator: claims by the contract's rules, runs, completes or fails; seeded."""

from __future__ import annotations

import time

import httpx
import pytest

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator
from strategy_operator_dev.sandbox.state import SandboxState
from strategy_operator_dev.sandbox.testing import running_sandbox

from .sandbox_helpers import login, objs


def _network_with_actioned_tasks(
    state: SandboxState, per_transformation: int = 2, seed: int = 0
) -> tuple[str, list[str]]:
    network = state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=seed)
    tasks = state.create_tasks([tf for tf in sorted(state.transformations(network)) for _ in range(per_transformation)])
    assert state.action_tasks(_sk(network), tasks) == tasks
    return network, tasks


def _sk(text: str) -> ScopedKey:
    return ScopedKey.from_str(text)


def test_claims_at_rate_runs_for_duration_then_completes():
    state = SandboxState(seed=1)
    network, tasks = _network_with_actioned_tasks(state)
    sim = Simulator(state, ComputeSettings(rate=2.0, duration=3.0, seed=1))
    report = sim.step(1.0)
    assert len(report.claimed) == 2 and not report.completed
    assert sorted(state.task_statuses(report.claimed)) == ["running", "running"]
    sim.step(1.0)
    sim.step(1.0)
    report = sim.step(1.0)  # t=4: the two claimed at t=1 have run 3 s
    assert len(report.completed) == 2
    assert state.task_statuses(report.completed) == ["complete", "complete"]
    assert all(t not in state.actioned_tasks(_sk(network)) for t in report.completed)


def test_failure_probability_and_error_tasks_stay_actioned():
    state = SandboxState(seed=2)
    network, tasks = _network_with_actioned_tasks(state)
    sim = Simulator(state, ComputeSettings(rate=100.0, duration=0.0, failure_probability=1.0, seed=2))
    report = sim.step(1.0)
    assert sorted(report.failed) == sorted(tasks) and not report.completed
    assert set(state.task_statuses(tasks)) == {"error"}
    assert set(state.actioned_tasks(_sk(network))) == set(tasks)
    assert all(len(state.task_results(t, ok=False)) == 1 for t in tasks)


def test_only_actioned_waiting_claimable_tasks_are_claimed():
    state = SandboxState(seed=3)
    network = state.generate_network("path", systems=3, scope="acme-tyk2-run1", seed=3)
    tf = sorted(state.transformations(network))[0]
    unactioned, zero_weight, parent = state.create_tasks([tf] * 3)
    state.action_tasks(_sk(network), [zero_weight, parent], weight=0.0)
    state.action_tasks(_sk(network), [parent], weight=1.0)
    (child,) = state.create_tasks([tf], [parent])
    state.action_tasks(_sk(network), [child])
    sim = Simulator(state, ComputeSettings(rate=10.0, duration=5.0, seed=3))
    assert sim.step(1.0).claimed == [parent]  # child waits for its parent to complete
    sim.step(5.0)
    assert state.task_statuses([parent]) == ["complete"]
    assert child in sim.step(1.0).claimed
    assert state.task_statuses([unactioned, zero_weight]) == ["waiting", "waiting"]


def test_hub_weight_zero_stops_claims_and_priority_orders_them():
    state = SandboxState(seed=4)
    network, tasks = _network_with_actioned_tasks(state, per_transformation=1)
    state.set_hub_weights([network], [0.0])
    sim = Simulator(state, ComputeSettings(rate=5.0, duration=10.0, seed=4))
    assert sim.step(1.0).claimed == []
    state.set_hub_weights([network], [1.0])
    state.set_task_priorities([tasks[2]], 1)
    assert sim.step(0.2).claimed == [tasks[2]]


def test_deterministic_with_a_seed():
    def run() -> list[list[str]]:
        state = SandboxState(seed=5)
        _network_with_actioned_tasks(state, per_transformation=3, seed=5)
        sim = Simulator(state, ComputeSettings(rate=1.5, duration=1.0, failure_probability=0.3, seed=9))
        return [sorted(r.claimed) + ["|"] + sorted(r.failed) for r in (sim.step(1.0) for _ in range(8))]

    assert run() == run()


def test_run_until_idle_drains_the_hub():
    state = SandboxState(seed=6)
    network, tasks = _network_with_actioned_tasks(state)
    sim = Simulator(state, ComputeSettings(rate=1.0, duration=2.0, seed=6))
    sim.run_until_idle()
    assert set(state.task_statuses(tasks)) == {"complete"}
    assert state.network_status(network) == {"complete": len(tasks)}
    assert sim.totals.completed == len(tasks)


def test_settings_are_validated_with_the_field_named():
    with pytest.raises(ValueError, match="failure_probability"):
        ComputeSettings(failure_probability=1.5)
    with pytest.raises(ValueError, match="rate"):
        ComputeSettings(rate=-1)


def test_background_simulator_in_running_sandbox_completes_actioned_tasks_over_http():
    settings = ComputeSettings(rate=50.0, duration=0.05, seed=7, tick=0.01)
    with running_sandbox(identities={"alice": ("alice-key", ["acme-*-*"])}, compute=settings) as sb:
        network = sb.state.generate_network("star", systems=5, scope="acme-tyk2-run1", seed=7)
        client = login(sb)
        tfs = client.get(f"/networks/{network}/transformations").json()
        tasks = client.post("/bulk/transformations/tasks/create", json={"transformations": tfs}).json()
        client.post(f"/networks/{network}/tasks/action", json={"tasks": objs(tasks)})
        deadline = time.monotonic() + 10
        while client.get(f"/networks/{network}/status").json() != {"complete": len(tasks)}:
            assert time.monotonic() < deadline, "simulated compute did not finish"
            time.sleep(0.05)
        assert all(len(client.get(f"/transformations/{tf}/results").json()) == 1 for tf in tfs)
        step = httpx.post(f"{sb.url}/_sandbox/compute/step", json={"seconds": 1})
        assert step.status_code == 200 and step.json()["claimed"] == []
