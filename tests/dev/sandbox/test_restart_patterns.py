"""Task restart patterns: retries on a matching traceback, cancellation otherwise."""

from __future__ import annotations

from .sandbox_helpers import objs


def _actioned_task(sb, alice, network):
    tf = sorted(sb.state.transformations(network))[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([task])})
    return task


def _fail(sb, task, tracebacks):
    sb.state.claim_task(task)
    sb.state.complete_task(task, ok=False, tracebacks=tracebacks)


def test_matching_pattern_restarts_until_the_limit_then_cancels(sb, alice, network):
    assert (
        alice.post(
            f"/networks/{network}/restartpatterns/add", json={"patterns": ["Timeout"], "num_allowed_restarts": 2}
        ).json()
        is None
    )
    task = _actioned_task(sb, alice, network)
    for _ in range(2):
        _fail(sb, task, ["GPU Timeout after 3600 s"])
        assert sb.state.task_statuses([task]) == ["waiting"]  # restarted automatically
        assert task in alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json()
    _fail(sb, task, ["GPU Timeout after 3600 s"])
    assert sb.state.task_statuses([task]) == ["error"]
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json() == []


def test_non_matching_failure_is_cancelled_from_the_hub_and_stays_error(sb, alice, network):
    alice.post(f"/networks/{network}/restartpatterns/add", json={"patterns": ["Timeout"], "num_allowed_restarts": 5})
    task = _actioned_task(sb, alice, network)
    _fail(sb, task, ["ValueError: bad input"])
    assert sb.state.task_statuses([task]) == ["error"]
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json() == []


def test_hubs_without_patterns_keep_errored_tasks_actioned(sb, alice, network):
    task = _actioned_task(sb, alice, network)
    _fail(sb, task, ["Timeout"])
    assert sb.state.task_statuses([task]) == ["error"]
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json() == [task]


def test_adding_patterns_resolves_already_errored_tasks(sb, alice, network):
    task = _actioned_task(sb, alice, network)
    _fail(sb, task, ["Timeout"])
    alice.post(f"/networks/{network}/restartpatterns/add", json={"patterns": ["Time"], "num_allowed_restarts": 1})
    assert sb.state.task_statuses([task]) == ["waiting"]


def test_pattern_listing_max_retries_remove_and_clear(sb, alice, network):
    alice.post(f"/networks/{network}/restartpatterns/add", json={"patterns": ["A", "B"], "num_allowed_restarts": 1})
    alice.post(f"/networks/{network}/restartpatterns/maxretries", json={"patterns": ["B"], "max_retries": 4})
    listed = alice.post("/bulk/networks/restartpatterns/get", json={"networks": [network]}).json()
    assert sorted(map(tuple, listed[network])) == [("A", 1), ("B", 4)]
    alice.post(f"/networks/{network}/restartpatterns/remove", json={"patterns": ["A"]})
    assert alice.post("/bulk/networks/restartpatterns/get", json={"networks": [network]}).json() == {
        network: [["B", 4]]
    }
    assert alice.get(f"/networks/{network}/restartpatterns/clear").json() == [network]
    assert alice.post("/bulk/networks/restartpatterns/get", json={"networks": [network]}).json() == {network: []}
    unknown = network.replace(network.split("-")[1], "5" * 32)
    assert (
        alice.post(
            f"/networks/{unknown}/restartpatterns/add", json={"patterns": ["A"], "num_allowed_restarts": 1}
        ).status_code
        == 500
    )
