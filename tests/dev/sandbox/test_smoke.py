"""The sandbox serves a working alchemiscale API end to end."""

from __future__ import annotations

from .sandbox_helpers import objs


def test_create_action_complete_cycle(sb, alice):
    network = sb.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=11)
    transformations = alice.get(f"/networks/{network}/transformations").json()
    assert len(transformations) == 3
    tasks = alice.post("/bulk/transformations/tasks/create", json={"transformations": transformations}).json()
    assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs(tasks)}).json() == tasks
    sb.state.claim_task(tasks[0])
    sb.state.complete_task(tasks[0], ok=True)
    assert alice.get(f"/networks/{network}/status").json() == {"waiting": 2, "complete": 1}
    assert sorted(alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json()) == sorted(
        tasks[1:]
    )
    transformation = alice.get(f"/tasks/{tasks[0]}/transformation").json()
    assert len(alice.get(f"/transformations/{transformation}/results").json()) == 1
