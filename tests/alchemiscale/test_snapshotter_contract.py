"""Snapshots: request budgets, exact result counts, cache invalidation.

Tests taking `backend` run against the sandbox and the real alchemiscale 0.8.0 server (real
gufe networks, real compute); those taking `sandbox` build histories only its state can
(claims, expiries, late results) or need its fault injection.
"""

from __future__ import annotations

import httpx
import pytest

from strategy_operator.alchemiscale import NetworkNotFound, NetworkSnapshotter, TransientError, build_snapshot
from strategy_operator.scopedkey import ScopedKey

from .alchemiscale_helpers import SCOPE


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


async def test_fresh_network_snapshot(backend, backend_client) -> None:
    network = backend.star(6, non_transformations=1)
    observation = await NetworkSnapshotter(backend_client, network.key).observe()
    assert {t.key for t in observation.transformations} == set(network.transformations)
    for t in observation.transformations:
        systems = network.systems[t.key]
        if t.key.startswith("NonTransformation-"):
            assert [t.state_a, t.state_b] == [systems[0], systems[0]]
        else:
            assert [t.state_a, t.state_b] == systems  # stateA, stateB as gufe has them
        assert t.results == 0
    assert len(observation.chemical_systems) == 7
    assert observation.tasks == ()
    assert observation.requests <= 4  # token, network, counts


@pytest.mark.parametrize("size", [10, 40])
async def test_cold_and_no_change_request_budgets(backend, backend_client, size) -> None:
    client = backend_client
    broken = size // 5
    network = backend.star(size, broken=broken)
    tasks = await client.create_tasks([t for t in network.transformations for _ in range(3)])
    await client.action_tasks(network.key, [t for i, t in enumerate(tasks) if i % 3 != 2])
    assert backend.compute(network.key) == 2 * size

    snapshotter = NetworkSnapshotter(client, network.key)
    cold = await snapshotter.observe()
    assert cold.requests <= 2 * size + 10
    assert cold.result_count == 2 * (size - broken)
    statuses = sorted((t.status, t.actioned) for t in cold.tasks)  # finished tasks count as results only
    assert statuses == sorted([("error", True)] * 2 * broken + [("waiting", False)] * size)

    warm = await snapshotter.observe()
    assert warm.requests <= 5  # counts + three live-status lists + actioned; independent of size
    assert warm.results_read == 0
    assert warm.transformations == cold.transformations and warm.tasks == cold.tasks


async def test_results_computed_between_observations_are_seen(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(4)
    snapshotter = NetworkSnapshotter(client, network.key)
    assert (await snapshotter.observe()).result_count == 0
    # One of ours, created, actioned and finished between two observations: never seen live.
    [ours] = await client.create_tasks([network.transformations[0]])
    await client.action_tasks(network.key, [ours])
    # One foreign task, created and actioned directly on the server.
    [foreign] = backend.create_tasks([network.transformations[1]])
    backend.action_tasks(network.key, [foreign])
    assert backend.compute(network.key) == 2
    observation = await snapshotter.observe()
    assert observation.result_count == 2
    assert {t.key: t.results for t in observation.transformations if t.results} == {
        network.transformations[0]: 1,
        network.transformations[1]: 1,
    }
    assert await snapshotter.result_count() == 2


async def test_unknown_tasks_are_resolved_per_task_when_few(backend, backend_client) -> None:
    network = backend.star(20)
    transformation = network.transformations[3]
    snapshotter = NetworkSnapshotter(backend_client, network.key)
    await snapshotter.observe()
    [foreign] = backend.create_tasks([transformation])
    observation = await snapshotter.observe()
    assert [(t.key, t.transformation, t.status, t.actioned) for t in observation.tasks] == [
        (foreign, transformation, "waiting", False)
    ]
    assert observation.requests <= 6  # the no-change set plus one lookup, not 20 listings


async def test_snapshot_document_validates_in_the_engine(backend, backend_client) -> None:
    engine = pytest.importorskip("strategy_operator.engine")
    network = backend.star(5)
    tasks = await backend_client.create_tasks(network.transformations)
    await backend_client.action_tasks(network.key, tasks)
    backend.compute(network.key)
    observation = await NetworkSnapshotter(backend_client, network.key).observe()
    document = build_snapshot(observation, strategy={"name": "ConnectivityStrategy"}, max_tasks_per_transformation=3)
    snapshot = engine.Snapshot.model_validate(document)
    plan = engine.plan_iteration(snapshot)
    assert plan.result_count == 5


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


async def test_a_task_of_ours_changing_status_during_the_listings_is_not_taken_for_finished(sandbox, client) -> None:
    network = _star(sandbox, 3)
    state = sandbox.state
    first, second, third = sorted(state.transformations(network))
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    # Created (by us, so the client knows them) after that observation and actioned.
    ours, other = await client.create_tasks([first, second])
    state.action_tasks(ScopedKey.from_str(network), [ours, other])

    # A compute service claims `ours` after the status counts were read and before the
    # task lists are: the counts say "2 waiting", the waiting list no longer holds it,
    # and no running list is read.
    counts = client.networks_status

    async def counts_then_claim(networks):
        answer = await counts(networks)
        if state.task_statuses([ours]) == ["waiting"]:
            state.claim_task(ours)
        return answer

    client.networks_status = counts_then_claim
    observation = await snapshotter.observe()
    client.networks_status = counts
    assert {t.key: (t.status, t.actioned) for t in observation.tasks} == {
        ours: ("running", True),
        other: ("waiting", True),
    }

    # A foreign task that is created and finishes between two observations is still found.
    [foreign] = state.create_tasks([third])
    state.claim_task(foreign)
    state.complete_task(foreign, ok=True)
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 1


async def test_adversarial_histories_give_the_servers_counts_and_actioned_flags(sandbox, client) -> None:
    state = sandbox.state
    state.add_identity("bob", "bob-key", [SCOPE])
    star = state.load_network(
        {
            "name": "s",
            "scope": SCOPE,
            "systems": ["x1", "x2", "x3"],
            "transformations": [{"stateA": "x1", "stateB": "x2"}, {"stateA": "x1", "stateB": "x3"}],
        }
    )
    path = state.load_network(
        {"name": "p", "scope": SCOPE, "systems": ["x1", "x2"], "transformations": [{"stateA": "x1", "stateB": "x2"}]}
    )
    [shared] = state.transformations(path)
    [own] = [t for t in state.transformations(star) if t != shared]
    star_view, path_view = NetworkSnapshotter(client, star), NetworkSnapshotter(client, path)
    await star_view.observe()
    await path_view.observe()

    # The other network's plan, through the same client: tasks on the shared transformation.
    for_path = await client.create_tasks([shared, shared])
    state.action_tasks(ScopedKey.from_str(path), for_path)
    # Another identity's tasks, created over HTTP, actioned on the star only.
    async with httpx.AsyncClient(base_url=sandbox.url) as bob:
        token = (await bob.post("/token", data={"username": "bob", "password": "bob-key"})).json()["access_token"]
        bob.headers["Authorization"] = f"Bearer {token}"
        by_bob = (await bob.post(f"/transformations/{own}/tasks", json={"count": 3})).json()
    state.action_tasks(ScopedKey.from_str(star), by_bob)

    # Histories: complete then invalidated; reset after a claim, with a late result; failed.
    state.claim_task(for_path[0])
    state.complete_task(for_path[0], ok=True)
    state.set_task_status([for_path[0]], "invalid")
    state.claim_task(by_bob[0])
    observed = await star_view.observe()
    assert {t.key: t.status for t in observed.tasks}[by_bob[0]] == "running"
    state.set_task_status([by_bob[0]], "waiting")
    await star_view.observe()
    state.complete_task(by_bob[0], ok=True)  # attaches; the task stays waiting
    state.claim_task(by_bob[1])
    state.complete_task(by_bob[1], ok=False)

    for view, network in ((star_view, star), (path_view, path)):
        observation = await view.observe()
        assert observation.result_count == _true_result_count(sandbox, network)
        per_transformation = {t.key: t.results for t in observation.transformations}
        assert per_transformation == {t: len(state.transformation_results(t)) for t in state.transformations(network)}
        hub = state.actioned_tasks(ScopedKey.from_str(network))
        truth = {
            task: (state.task_statuses([task])[0], task in hub)
            for transformation in state.transformations(network)
            for task in state.transformation_tasks(transformation)
            if state.task_statuses([task])[0] in ("waiting", "running", "error")
        }
        assert {t.key: (t.status, t.actioned) for t in observation.tasks} == truth
    assert _true_result_count(sandbox, star) == 2  # shared (then invalidated) + late


async def test_a_late_result_on_a_finished_task_whose_claim_loss_was_unseen(sandbox, client) -> None:
    # The documented limit: the claim was lost and the task re-claimed between two
    # observations, then both services report. The second result attaches to a complete
    # task; no status change reveals it, so this snapshotter stays behind (never ahead),
    # and a rebuilt one is exact.
    network = _star(sandbox, 2)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    [task] = state.create_tasks([transformation])
    state.action_tasks(ScopedKey.from_str(network), [task])
    state.claim_task(task)
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    state.expire_task(task)
    state.claim_task(task)
    state.complete_task(task, ok=True)
    assert (await snapshotter.observe()).result_count == 1
    state.complete_task(task, ok=True)  # the first service, late
    assert _true_result_count(sandbox, network) == 2
    assert (await snapshotter.observe()).result_count <= 2
    assert (await NetworkSnapshotter(client, network).observe()).result_count == 2


async def test_a_task_created_while_the_transformations_are_listed_is_not_taken_for_finished(sandbox, client) -> None:
    network = _star(sandbox, 2)
    state = sandbox.state
    a, b = sorted(state.transformations(network))
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()

    def finish_a_foreign_task() -> None:
        [task] = state.create_tasks([a])
        state.claim_task(task)
        state.complete_task(task, ok=True)

    finish_a_foreign_task()  # unseen: the next observation lists the transformations
    listing = client.transformation_tasks
    created: list[str] = []

    async def someone_creates_a_task_meanwhile(transformation, status=None):
        if not created:
            created.extend(state.create_tasks([b]))  # after the live lists were read
        return await listing(transformation, status)

    client.transformation_tasks = someone_creates_a_task_meanwhile
    observation = await snapshotter.observe()
    client.transformation_tasks = listing
    assert observation.result_count == 1
    assert {t.key for t in observation.tasks} <= set(created)  # live, if seen at all

    finish_a_foreign_task()  # unseen again
    observation = await snapshotter.observe()
    assert observation.result_count == _true_result_count(sandbox, network) == 2
    assert [(t.key, t.status) for t in observation.tasks] == [(created[0], "waiting")]
