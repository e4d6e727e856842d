"""SandboxState semantics that are awkward to reach over HTTP."""

from __future__ import annotations

import threading

import pytest

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.state import BadRequest, SandboxState, ServerFault


@pytest.fixture()
def state() -> SandboxState:
    return SandboxState(seed=0)


def _two_networks_sharing_one_transformation(state: SandboxState) -> tuple[ScopedKey, ScopedKey, str]:
    doc = {"scope": "acme-tyk2-run1", "systems": ["a", "b"], "transformations": [{"stateA": "a", "stateB": "b"}]}
    one = state.load_network({**doc, "name": "one"})
    two = state.load_network({**doc, "name": "two"})
    return ScopedKey.from_str(one), ScopedKey.from_str(two), state.transformations(one)[0]


def test_cascade_removes_children_only_from_hubs_that_action_the_parent(state):
    one, two, tf = _two_networks_sharing_one_transformation(state)
    (parent,) = state.create_tasks([tf])
    (child,) = state.create_tasks([tf], [parent])
    state.action_tasks(one, [parent, child])
    state.action_tasks(two, [child])
    state.set_task_status([parent], "deleted")
    assert state.task_statuses([parent, child]) == ["deleted", "deleted"]
    assert state.actioned_tasks(one) == {}
    assert state.actioned_tasks(two) == {child: 0.5}  # upstream defect kept on purpose


def test_cascade_forces_children_even_from_the_other_terminal_state(state):
    _, _, tf = _two_networks_sharing_one_transformation(state)
    (parent,) = state.create_tasks([tf])
    (child,) = state.create_tasks([tf], [parent])
    state.set_task_status([child], "deleted")
    state.set_task_status([parent], "invalid")
    assert state.task_statuses([child]) == ["invalid"]


def test_task_transformation_crashes_when_the_extended_task_has_several_results(state):
    _, _, tf = _two_networks_sharing_one_transformation(state)
    (parent,) = state.create_tasks([tf])
    (child,) = state.create_tasks([tf], [parent])
    state.claim_task(parent)
    state.complete_task(parent, ok=False)
    assert state.task_transformation(child) == tf
    state.complete_task(parent, ok=True)  # a late result: now two refs
    with pytest.raises(ServerFault):
        state.task_transformation(child)


def test_complete_result_moves_status_only_from_running_or_same_target(state):
    _, _, tf = _two_networks_sharing_one_transformation(state)
    waiting, done = state.create_tasks([tf, tf])
    state.complete_task(waiting, ok=True)
    assert state.task_statuses([waiting]) == ["waiting"]
    state.claim_task(done)
    state.complete_task(done, ok=True)
    state.complete_task(done, ok=True)
    assert state.task_statuses([done]) == ["complete"] and len(state.task_results(done)) == 2


def test_hooks_reject_impossible_transitions(state):
    _, _, tf = _two_networks_sharing_one_transformation(state)
    (task,) = state.create_tasks([tf])
    with pytest.raises(ValueError, match="only running"):
        state.expire_task(task)
    state.claim_task(task)
    with pytest.raises(ValueError, match="only waiting"):
        state.claim_task(task)
    with pytest.raises(KeyError):
        state.claim_task(task.replace(task.split("-")[1], "0" * 32))


def test_identity_repr_hides_the_key(state):
    state.add_identity("alice", "super-secret", ["acme-*-*"])
    assert "super-secret" not in repr(state.identities["alice"])


def test_user_status_validation(state):
    with pytest.raises(BadRequest):
        state.set_task_status([], "complete")
    with pytest.raises(ServerFault):
        state.set_task_status([], "bogus")


def test_concurrent_creation_and_actioning_is_consistent(state):
    one, _, tf = _two_networks_sharing_one_transformation(state)

    def worker() -> None:
        for _ in range(50):
            tasks = state.create_tasks([tf, tf])
            state.action_tasks(one, tasks)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.transformation_tasks(tf)) == 400
    assert len(state.actioned_tasks(one)) == 400
    assert state.network_status(str(one)) == {"waiting": 400}


def test_status_counts_stay_in_step_with_task_statuses(state):
    one, two, tf = _two_networks_sharing_one_transformation(state)
    tasks = state.create_tasks([tf] * 8)
    parent, child = tasks[0], state.create_tasks([tf], [tasks[0]])[0]
    for t in tasks[1:5]:
        state.claim_task(t)
    state.complete_task(tasks[1], ok=True)
    state.complete_task(tasks[2], ok=False)
    state.expire_task(tasks[3])
    state.set_task_status([tasks[2]], "waiting")
    state.set_task_status([parent], "invalid")
    state.set_task_status([parent], "invalid")
    state.set_task_status([tasks[5]], "deleted")
    recomputed: dict[str, int] = {}
    for t in state.transformation_tasks(tf):
        status = state.tasks[t].status
        recomputed[status] = recomputed.get(status, 0) + 1
    assert state.transformation_status(tf) == recomputed
    assert state.network_status(str(one)) == recomputed == state.network_status(str(two))
    assert state.task_statuses([child]) == ["invalid"]


def test_network_arguments_take_strings_or_scoped_keys(state):
    one, _, tf = _two_networks_sharing_one_transformation(state)
    (task,) = state.create_tasks([tf])
    assert state.action_tasks(str(one), [task]) == [task]
    assert state.actioned_tasks(str(one)) == state.actioned_tasks(one) == {task: 0.5}
    assert state.cancel_tasks(str(one), [task]) == [task]
