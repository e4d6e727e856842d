"""Carrying out plans, including lost responses to task creation.

Tests taking `backend` run against the sandbox and the real alchemiscale 0.8.0 server;
those taking `sandbox` need its fault injection (lost answers, injected errors).
"""

from __future__ import annotations

import pytest

from strategy_operator.alchemiscale import (
    NetworkSnapshotter,
    OutcomeUnknown,
    RequestRejected,
    TransientError,
    execute_plan,
)
from strategy_operator.scopedkey import ScopedKey

from .alchemiscale_helpers import SCOPE, FakePlan


def _star(sandbox, transformations: int) -> str:
    return sandbox.state.generate_network(shape="star", systems=transformations + 1, scope=SCOPE, seed=1)


async def test_plan_creates_actions_and_cancels(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(3)
    a, b, c = network.transformations
    existing, to_cancel, already = backend.create_tasks([a, a, b])
    backend.action_tasks(network.key, [to_cancel, already])
    await client.info()
    before = client.requests_sent

    report = await execute_plan(
        client, network.key, FakePlan(action=[existing, already], create={a: 1, c: 2}, cancel=[to_cancel])
    )

    assert (report.created, report.actioned, report.cancelled) == (3, 4, 1)  # `already` answered null
    assert client.requests_sent - before <= 3  # create, action, cancel
    assert {k: len(v) for k, v in report.created_tasks.items()} == {a: 1, c: 2}
    actioned = set(await client.network_actioned_tasks(network.key))
    created = {t for tasks in report.created_tasks.values() for t in tasks}
    assert actioned == {existing, already} | created
    for transformation, tasks in report.created_tasks.items():
        assert all([await client.task_transformation(t) == transformation for t in tasks])


async def test_empty_plan_sends_nothing(backend, backend_client) -> None:
    network = backend.star(2)
    report = await execute_plan(backend_client, network.key, FakePlan())
    assert (report.created, report.actioned, report.cancelled) == (0, 0, 0)
    assert backend_client.requests_sent == 0


async def test_lost_creation_response_never_leads_to_more_tasks(sandbox, client) -> None:
    network = _star(sandbox, 2)
    state = sandbox.state
    a, b = sorted(state.transformations(network))
    snapshotter = NetworkSnapshotter(client, network)
    await snapshotter.observe()
    sandbox.faults.drop_next(1, path_prefix="/bulk/transformations/tasks/create", after_processing=True)

    with pytest.raises(OutcomeUnknown) as caught:
        await execute_plan(client, network, FakePlan(create={a: 2, b: 1}))
    assert isinstance(caught.value, TransientError)
    assert caught.value.partial_report.created == 0
    # Created once, not again: exactly what the plan asked for, waiting and unactioned.
    assert len(state.transformation_tasks(a)) == 2 and len(state.transformation_tasks(b)) == 1

    observation = await snapshotter.observe()
    assert sorted((t.transformation, t.status, t.actioned) for t in observation.tasks) == [
        (a, "waiting", False),
        (a, "waiting", False),
        (b, "waiting", False),
    ]


async def test_creation_failing_with_5xx_is_not_repeated(sandbox, client) -> None:
    network = _star(sandbox, 2)
    a, _ = sorted(sandbox.state.transformations(network))
    await client.info()
    sandbox.faults.fail_next(1, status=502, path_prefix="/bulk/transformations/tasks/create")
    before = client.requests_sent
    with pytest.raises(OutcomeUnknown):
        await execute_plan(client, network, FakePlan(create={a: 1}))
    assert client.requests_sent == before + 1


async def test_action_and_cancel_are_retried_after_a_lost_response(sandbox, client) -> None:
    network = _star(sandbox, 2)
    state = sandbox.state
    a, _ = sorted(state.transformations(network))
    first, second = state.create_tasks([a, a])
    await client.info()
    sandbox.faults.drop_next(1, path_prefix=f"/networks/{network}/tasks/action", after_processing=True)
    report = await execute_plan(client, network, FakePlan(action=[first, second]))
    # The retry answers null (already actioned): not an error, and both are actioned.
    assert report.actioned == 0
    assert set(await client.network_actioned_tasks(network)) == {first, second}


async def test_the_first_failure_is_the_one_raised(sandbox, client) -> None:
    network = _star(sandbox, 2)
    state = sandbox.state
    a, _ = sorted(state.transformations(network))
    [actioned] = state.create_tasks([a])
    state.action_tasks(ScopedKey.from_str(network), [actioned])
    await client.info()
    # Creation is refused (not transient, so the other steps still run), then cancelling fails too.
    sandbox.faults.fail_next(1, status=400, path_prefix="/bulk/transformations/tasks/create")
    sandbox.faults.fail_next(1, status=403, path_prefix=f"/networks/{network}/tasks/cancel")
    with pytest.raises(RequestRejected) as caught:
        await execute_plan(client, network, FakePlan(create={a: 1}, cancel=[actioned]))
    assert caught.value.status_code == 400
    assert caught.value.partial_report.created == 0 and caught.value.partial_report.cancelled == 0
