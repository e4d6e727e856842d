"""Snapshots against the sandbox: request budgets, exact result counts, cache invalidation."""

from __future__ import annotations

import pytest
from alchemiscale_helpers import client, sandbox, SCOPE  # noqa: F401 (fixtures)

from strategy_operator.alchemiscale import NetworkNotFound, NetworkSnapshotter, TransientError, build_snapshot
from strategy_operator.scopedkey import ScopedKey


def _star(sandbox, transformations: int, seed: int = 0) -> str:
    return sandbox.state.generate_network(shape="star", systems=transformations + 1, scope=SCOPE, seed=seed)


def _true_result_count(sandbox, network: str) -> int:
    return sum(len(sandbox.state.transformation_results(t)) for t in sandbox.state.transformations(network))


def _populate(sandbox, network: str) -> list[str]:
    """Per transformation: one complete task, one failed, one running, one waiting (actioned)."""
    state = sandbox.state
    waiting = []
    for transformation in sorted(state.transformations(network)):
        done, failed, running, idle = state.create_tasks([transformation] * 4)
        state.action_tasks(ScopedKey.from_str(network), [done, failed, running, idle])
        for task in (done, failed, running):
            state.claim_task(task)
        state.complete_task(done, ok=True)
        state.complete_task(failed, ok=False)
        waiting.append(idle)
    return waiting


async def test_fresh_network_snapshot(sandbox, client) -> None:
    network = _star(sandbox, 6)
    observation = await NetworkSnapshotter(client, network).observe()
    assert {t.key for t in observation.transformations} == set(sandbox.state.transformations(network))
    for t in observation.transformations:
        assert [t.state_a, t.state_b] == sandbox.state.transformation_chemical_systems(t.key)
        assert t.results == 0
    assert len(observation.chemical_systems) == 7
    assert observation.tasks == ()
    assert observation.requests <= 4  # token, network, counts


@pytest.mark.parametrize("size", [10, 40])
async def test_cold_and_no_change_request_budgets(sandbox, client, size) -> None:
    network = _star(sandbox, size)
    _populate(sandbox, network)
    snapshotter = NetworkSnapshotter(client, network)
    cold = await snapshotter.observe()
    assert cold.requests <= 2 * size + 10
    assert cold.result_count == _true_result_count(sandbox, network) == size
    statuses = sorted((t.status, t.actioned) for t in cold.tasks)
    assert statuses == sorted([("error", True), ("running", True), ("waiting", True)] * size)

    warm = await snapshotter.observe()
    assert warm.requests <= 5  # counts + three live-status lists + actioned; independent of size
    assert warm.results_read == 0
    assert warm.transformations == cold.transformations and warm.tasks == cold.tasks


async def test_changes_are_seen_and_only_changed_results_reread(sandbox, client) -> None:
    network = _star(sandbox, 8)
    waiting = _populate(sandbox, network)
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    state = sandbox.state

    state.claim_task(waiting[0])
    state.complete_task(waiting[0], ok=True)
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 9
    assert observation.results_read == 1

    # One of ours, created and finished between two observations: never seen live.
    transformation = state.task_transformation(waiting[1])
    [ours] = await client.create_tasks([transformation])
    state.action_tasks(ScopedKey.from_str(network), [ours])
    state.claim_task(ours)
    state.complete_task(ours, ok=True)
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 10
    assert observation.results_read == 1

    # A foreign one (created directly on the server), likewise never seen live.
    [foreign] = state.create_tasks([state.task_transformation(waiting[2])])
    state.claim_task(foreign)
    state.complete_task(foreign, ok=True)
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 11


async def test_late_results_without_a_status_change_are_counted(sandbox, client) -> None:
    network = _star(sandbox, 3)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    task, other = state.create_tasks([transformation, transformation])
    state.action_tasks(ScopedKey.from_str(network), [task, other])
    state.claim_task(task)
    state.claim_task(other)
    snapshotter = NetworkSnapshotter(client, network)
    assert (await snapshotter.observe()).result_count == 0

    # The claiming service's heartbeat expires: running -> waiting ...
    state.expire_task(task)
    # ... a task is invalidated while running ...
    state.set_task_status([other], "invalid")
    assert (await snapshotter.observe()).result_count == 0
    # ... and both old services report later: refs attach, statuses stay as they are.
    state.complete_task(task, ok=True)
    state.complete_task(other, ok=True)
    assert state.task_status(task) == "waiting"
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 2


async def test_failures_do_not_count_and_invalidated_results_still_do(sandbox, client) -> None:
    network = _star(sandbox, 2)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    ok_task, failed_task = state.create_tasks([transformation, transformation])
    for task in (ok_task, failed_task):
        state.claim_task(task)
    state.complete_task(ok_task, ok=True)
    state.complete_task(failed_task, ok=False)
    snapshotter = NetworkSnapshotter(client, network)
    assert (await snapshotter.observe()).result_count == 1
    state.set_task_status([ok_task], "invalid")
    assert (await snapshotter.observe()).result_count == 1


async def test_unknown_tasks_are_resolved_per_task_when_few(sandbox, client) -> None:
    network = _star(sandbox, 20)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[3]
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    [foreign] = state.create_tasks([transformation])
    observation = await snapshotter.observe()
    assert [(t.key, t.transformation, t.status, t.actioned) for t in observation.tasks] == [
        (foreign, transformation, "waiting", False)
    ]
    assert observation.requests <= 6  # the no-change set plus one lookup, not 20 listings


async def test_snapshot_document_validates_in_the_engine(sandbox, client) -> None:
    engine = pytest.importorskip("strategy_operator.engine")
    network = _star(sandbox, 5)
    _populate(sandbox, network)
    observation = await NetworkSnapshotter(client, network).observe()
    document = build_snapshot(observation, strategy={"name": "ConnectivityStrategy"}, max_tasks_per_transformation=3)
    snapshot = engine.Snapshot.model_validate(document)
    plan = engine.plan_iteration(snapshot)
    assert plan.result_count == 5


async def test_a_new_snapshotter_counts_results_of_tasks_the_client_created(sandbox, client) -> None:
    network = _star(sandbox, 4)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    [ours] = await client.create_tasks([transformation])
    state.claim_task(ours)
    state.complete_task(ours, ok=True)
    # Same client (it remembers `ours`), fresh snapshotter: the task finished unseen.
    observation = await NetworkSnapshotter(client, network).observe()
    assert observation.result_count == 1


async def test_observation_after_a_failure_is_redone_whole(sandbox, client) -> None:
    network = _star(sandbox, 3)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    [task] = state.create_tasks([transformation])
    state.claim_task(task)
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    state.complete_task(task, ok=True)
    # The status lists succeed (the change is seen), then reading the results fails.
    sandbox.faults.fail_next(3, status=503, path_prefix="/transformations/")
    with pytest.raises(TransientError):
        await snapshotter.observe()
    sandbox.faults.clear()
    assert (await snapshotter.observe()).result_count == 1


async def test_structure_falls_back_to_listings_when_the_network_object_is_not_served(sandbox, client) -> None:
    network = _star(sandbox, 5)
    await client.info()
    # As if the server did not serve GET /networks/{sk}: the first matching request is a 404.
    sandbox.faults.fail_next(1, status=404, path_prefix=f"/networks/{network}")
    observation = await NetworkSnapshotter(client, network).observe()
    for t in observation.transformations:
        assert [t.state_a, t.state_b] == sandbox.state.transformation_chemical_systems(t.key)
    assert len(observation.transformations) == 5 and len(observation.chemical_systems) == 6
    # network 404, transformations, chemical systems, 5 x transformation chemical systems, counts
    assert observation.requests == 1 + 2 + 5 + 1


async def test_missing_network_on_the_fallback_path(sandbox, client) -> None:
    missing = f"AlchemicalNetwork-{'1' * 32}-{SCOPE}"
    await client.info()
    sandbox.faults.fail_next(1, status=404, path_prefix=f"/networks/{missing}")
    with pytest.raises(NetworkNotFound, match=missing):
        await NetworkSnapshotter(client, missing).observe()


async def test_result_count_is_exact_and_cheaper_than_an_observation(sandbox, client) -> None:
    network = _star(sandbox, 12)
    waiting = _populate(sandbox, network)
    snapshotter = NetworkSnapshotter(client, network)
    assert await snapshotter.result_count() == 12
    before = client.requests_sent
    assert await snapshotter.result_count() == 12
    assert client.requests_sent - before <= 4  # counts and the live-status lists only
    sandbox.state.claim_task(waiting[0])
    sandbox.state.complete_task(waiting[0], ok=True)
    assert await snapshotter.result_count() == 13
    # The observation after it sees the same state, with the hub read.
    observation = await snapshotter.observe()
    assert observation.result_count == 13 and observation.results_read == 0
    assert all(t.actioned for t in observation.tasks)
