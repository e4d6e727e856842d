"""Fidelity to upstream 0.8.0 (docs/sandbox.md, "What is emulated"): structure and tasks: creation, listings, status and its transitions."""

from __future__ import annotations

import pytest

from strategy_operator_dev.sandbox.testing import running_sandbox

from .sandbox_helpers import login, objs


def _tfs(client, network):
    return sorted(client.get(f"/networks/{network}/transformations").json())


def test_network_has_one_taskhub_and_mark_and_is_immutable(sb, alice, network):
    record = sb.state.networks[network]
    assert alice.get(f"/exists/{record.taskhub_sk}").json() is True
    assert alice.get(f"/exists/{record.mark_sk}").json() is True
    assert alice.get(f"/networks/{network}/weight").json() == 0.5
    assert alice.post("/bulk/networks/state/get", json={"networks": [network]}).json() == ["active"]
    again = sb.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=int(record.name.split("seed")[1]))
    assert again == network  # same content, same object


def test_transformations_are_shared_between_networks_of_a_scope(sb, alice):
    star = sb.state.load_network(
        {
            "name": "s",
            "scope": "acme-tyk2-run1",
            "systems": ["x1", "x2", "x3"],
            "transformations": [{"stateA": "x1", "stateB": "x2"}, {"stateA": "x1", "stateB": "x3"}],
        }
    )
    path = sb.state.load_network(
        {
            "name": "p",
            "scope": "acme-tyk2-run1",
            "systems": ["x1", "x2"],
            "transformations": [{"stateA": "x1", "stateB": "x2"}],
        }
    )
    other_scope = sb.state.load_network(
        {
            "name": "p",
            "scope": "acme-tyk2-run2",
            "systems": ["x1", "x2"],
            "transformations": [{"stateA": "x1", "stateB": "x2"}],
        }
    )
    (shared,) = alice.get(f"/networks/{path}/transformations").json()
    assert shared in alice.get(f"/networks/{star}/transformations").json()
    assert alice.get(f"/networks/{other_scope}/transformations").json() != [shared]
    alice.post(f"/transformations/{shared}/tasks", json={"count": 2})
    assert alice.get(f"/networks/{star}/status").json() == {"waiting": 2}
    assert alice.get(f"/networks/{path}/status").json() == {"waiting": 2}
    assert alice.get(f"/networks/{other_scope}/status").json() == {}
    assert sorted(alice.get(f"/transformations/{shared}/networks").json()) == sorted([star, path])


def test_transformation_chemicalsystems_are_ordered_stateA_stateB_or_system(sb, alice):
    network = sb.state.load_network(
        {
            "name": "o",
            "scope": "acme-tyk2-run1",
            "systems": ["zz", "aa"],
            "transformations": [{"stateA": "zz", "stateB": "aa"}, {"system": "aa"}],
        }
    )
    record = {r.qualname: r for r in (sb.state.transformation_records[t] for t in sb.state.transformations(network))}
    tf, non = record["Transformation"], record["NonTransformation"]
    systems = {sb.state.chemical_systems[s].name: s for s in sb.state.network_chemical_systems(network)}
    for _ in range(5):  # shuffling is on: the order must hold every time
        assert alice.get(f"/transformations/{tf.sk}/chemicalsystems").json() == [systems["zz"], systems["aa"]]
    assert alice.get(f"/transformations/{non.sk}/chemicalsystems").json() == [systems["aa"]]


def test_create_tasks_waiting_priority_10_unactioned_creator_recorded(sb, alice, network):
    tf = _tfs(alice, network)[0]
    tasks = alice.post(f"/transformations/{tf}/tasks", json={"count": 3}).json()
    assert len(set(tasks)) == 3 and all(t.startswith("Task-") and t.endswith("-acme-tyk2-run1") for t in tasks)
    assert all(len(t.split("-")[1]) == 32 for t in tasks)
    assert alice.post("/bulk/tasks/status/get", json={"tasks": objs(tasks)}).json() == ["waiting"] * 3
    assert alice.post("/bulk/tasks/priority/get", json={"tasks": objs(tasks)}).json() == [10] * 3
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json() == []
    assert {sb.state.tasks[t].creator for t in tasks} == {"alice"}
    assert alice.post(f"/transformations/{tf}/tasks", json={"count": 0}).json() == []
    assert alice.post(f"/transformations/{tf}/tasks", json={"count": -2}).json() == []


def test_create_tasks_validation_messages_and_500s(sb, alice, network):
    tf = _tfs(alice, network)[0]
    tf2 = _tfs(alice, network)[1]
    (parent,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    bad_type = alice.post(f"/transformations/{network}/tasks", json={"count": 1})
    assert bad_type.status_code == 400
    assert bad_type.json() == {"detail": "Got an unsupported `Transformation` type: AlchemicalNetwork"}
    other_tf = alice.post(f"/transformations/{tf2}/tasks", json={"count": 1, "extends": objs([parent])[0]})
    assert other_tf.status_code == 400
    assert other_tf.json() == {"detail": f"{parent} extends a Transformation other than {tf2}"}
    not_task = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([tf])[0]})
    assert not_task.status_code == 400 and "does not correspond to a `Task`" in not_task.json()["detail"]
    as_string = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": parent})
    assert as_string.status_code == 500
    unknown_tf = tf.replace(tf.split("-")[1], "f" * 32)
    assert alice.post(f"/transformations/{unknown_tf}/tasks", json={"count": 1}).status_code == 500
    ghost = parent.replace(parent.split("-")[1], "0" * 32)
    assert alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([ghost])[0]}).status_code == 500
    alice.post(f"/tasks/{parent}/status", json="invalid")
    dead = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([parent])[0]})
    assert dead.status_code == 400
    assert dead.json() == {"detail": f"Cannot extend a `deleted` or `invalid` Task: {parent}"}
    assert sorted(alice.get(f"/transformations/{tf}/tasks").json()) == [parent]  # nothing written
    assert alice.get(f"/transformations/{tf2}/tasks").json() == []


def test_bulk_create_is_all_or_nothing_and_checks_extends_length(sb, alice, network):
    tf = _tfs(alice, network)[0]
    mismatch = alice.post("/bulk/transformations/tasks/create", json={"transformations": [tf, tf], "extends": [None]})
    assert mismatch.status_code == 400
    assert mismatch.json() == {"detail": "`extends` must either be `None` or have the same length as `transformations`"}
    bad = alice.post("/bulk/transformations/tasks/create", json={"transformations": [tf, network]})
    assert bad.status_code == 400
    assert alice.get(f"/transformations/{tf}/tasks").json() == []
    (parent,) = alice.post("/bulk/transformations/tasks/create", json={"transformations": [tf]}).json()
    created = alice.post(
        "/bulk/transformations/tasks/create", json={"transformations": [tf, tf], "extends": [parent, ""]}
    ).json()
    graph = alice.get(f"/transformations/{tf}/tasks", params={"return_as": "graph"}).json()
    assert graph == {parent: None, created[0]: parent, created[1]: None}


def test_bulk_create_groups_transformations_before_nontransformations(sb, alice):
    network = sb.state.load_network(
        {
            "name": "mixed",
            "scope": "acme-tyk2-run1",
            "systems": ["m1", "m2"],
            "transformations": [{"stateA": "m1", "stateB": "m2"}, {"system": "m1"}],
        }
    )
    by_type = {sb.state.transformation_records[t].qualname: t for t in sb.state.transformations(network)}
    non, tf = by_type["NonTransformation"], by_type["Transformation"]
    created = alice.post("/bulk/transformations/tasks/create", json={"transformations": [non, tf, non, tf]}).json()
    owners = [alice.get(f"/tasks/{t}/transformation").json() for t in created]
    assert owners == [tf, tf, non, non]


def test_last_element_scope_bug_only_behind_the_flag():
    identities = {"root": ("root-key", ["*-*-*"])}
    for flag, expected in ((False, ["run1", "run2"]), (True, ["run2", "run2"])):
        with running_sandbox(identities=identities, last_scope_bug=flag) as sb:
            root = login(sb, "root")
            tf1 = sb.state.transformations(sb.state.generate_network("path", systems=2, scope="acme-tyk2-run1"))[0]
            tf2 = sb.state.transformations(sb.state.generate_network("path", systems=2, scope="acme-tyk2-run2"))[0]
            created = root.post("/bulk/transformations/tasks/create", json={"transformations": [tf1, tf2]}).json()
            assert [t.split("-")[-1] for t in created] == expected


def test_task_listings_filters_and_bad_filters(sb, alice, network):
    tf = _tfs(alice, network)[0]
    a, b = alice.post(f"/transformations/{tf}/tasks", json={"count": 2}).json()
    (c,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([a])[0]}).json()
    (d,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([c])[0]}).json()
    sb.state.claim_task(b)
    assert sorted(alice.get(f"/transformations/{tf}/tasks").json()) == sorted([a, b, c, d])
    assert alice.get(f"/transformations/{tf}/tasks", params={"status": "running"}).json() == [b]
    assert sorted(alice.get(f"/transformations/{tf}/tasks", params={"extends": a}).json()) == sorted([c, d])
    assert alice.get(f"/transformations/{tf}/tasks", params={"extends": a, "return_as": "graph"}).json() == {
        c: a,
        d: c,
    } or alice.get(f"/transformations/{tf}/tasks", params={"extends": a, "return_as": "graph"}).json() == {d: c, c: a}
    assert sorted(alice.get(f"/networks/{network}/tasks").json()) == sorted([a, b, c, d])
    assert alice.get(f"/networks/{network}/tasks", params={"status": "running"}).json() == [b]
    bad = alice.get(f"/networks/{network}/tasks", params={"status": "sleeping"})
    assert bad.status_code == 400 and bad.json() == {"detail": "'sleeping' is not a valid TaskStatusEnum"}
    bad = alice.get(f"/transformations/{tf}/tasks", params={"return_as": "tree"})
    assert bad.status_code == 400 and bad.json() == {"detail": "`return_as` takes 'list' or 'graph', not 'tree'"}
    unknown = tf.replace(tf.split("-")[1], "e" * 32)
    assert alice.get(f"/transformations/{unknown}/tasks").json() == []
    assert alice.get(f"/transformations/{unknown}/tasks", params={"return_as": "graph"}).json() == {}


def test_task_status_and_transformation_lookups(sb, alice, network):
    tf = _tfs(alice, network)[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    ghost = task.replace(task.split("-")[1], "0" * 32)
    assert alice.get(f"/tasks/{task}/status").json() == "waiting"
    assert alice.get(f"/tasks/{ghost}/status").status_code == 500
    assert alice.get(f"/tasks/{task}/transformation").json() == tf
    unknown = alice.get(f"/tasks/{ghost}/transformation")
    assert unknown.status_code == 400 and unknown.json() == {"detail": "'No such object in database'"}
    assert alice.post("/bulk/tasks/status/get", json={"tasks": objs([ghost, task])}).json() == [None, "waiting"]


def test_status_set_rules(sb, alice, network):
    tf = _tfs(alice, network)[0]
    w, r, e, c, i, d = alice.post(f"/transformations/{tf}/tasks", json={"count": 6}).json()
    for t in (r, e, c):
        sb.state.claim_task(t)
    sb.state.complete_task(e, ok=False)
    sb.state.complete_task(c, ok=True)
    alice.post(f"/tasks/{i}/status", json="invalid")
    alice.post(f"/tasks/{d}/status", json="deleted")
    everything = objs([w, r, e, c, i, d])
    assert alice.post("/bulk/tasks/status/set", json={"tasks": everything, "status": "waiting"}).json() == [
        w,
        r,
        e,
        None,
        None,
        None,
    ]
    assert alice.post(f"/tasks/{i}/status", json="invalid").json() == i
    assert alice.post(f"/tasks/{i}/status", json="deleted").json() is None
    assert alice.post(f"/tasks/{d}/status", json="invalid").json() is None
    running = alice.post(f"/tasks/{w}/status", json="running")
    assert running.status_code == 400
    assert running.json() == {
        "detail": "Cannot set status to 'TaskStatusEnum.running', must be one of 'waiting', 'invalid', 'deleted'"
    }
    assert alice.post(f"/tasks/{w}/status", json="sleeping").status_code == 500
    assert alice.post("/bulk/tasks/status/set", json={"tasks": everything, "status": "sleeping"}).status_code == 500


def test_invalid_cascades_through_extends_and_leaves_hubs(sb, alice, network):
    tf = _tfs(alice, network)[0]
    (parent,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    (child,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([parent])[0]}).json()
    (grandchild,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1, "extends": objs([child])[0]}).json()
    alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([parent, child, grandchild])})
    assert alice.post(f"/tasks/{parent}/status", json="invalid").json() == parent
    assert (
        alice.post("/bulk/tasks/status/get", json={"tasks": objs([parent, child, grandchild])}).json()
        == ["invalid"] * 3
    )
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": False}).json() == []


def test_priority_set_range(sb, alice, network):
    tf = _tfs(alice, network)[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    for bad in (0, 2**63):
        response = alice.post("/bulk/tasks/priority/set", json={"tasks": objs([task]), "priority": bad})
        assert response.status_code == 400
        assert response.json() == {"detail": "priority must be between 1 and 2**63 - 1, inclusive"}
    assert alice.post("/bulk/tasks/priority/set", json={"tasks": objs([task]), "priority": 1}).json() == [task]


@pytest.mark.parametrize("qualname", ["Transformation", "NonTransformation"])
def test_exists_for_transformation_kinds(sb, alice, qualname):
    network = sb.state.load_network(
        {
            "name": "k",
            "scope": "acme-tyk2-run1",
            "systems": ["k1", "k2"],
            "transformations": [{"stateA": "k1", "stateB": "k2"}, {"system": "k2"}],
        }
    )
    (sk,) = [t for t in sb.state.transformations(network) if t.startswith(qualname + "-")]
    assert alice.get(f"/exists/{sk}").json() is True
    other = "NonTransformation" if qualname == "Transformation" else "Transformation"
    assert alice.get(f"/exists/{sk.replace(qualname + '-', other + '-', 1)}").json() is False
