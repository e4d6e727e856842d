"""Fidelity to upstream 0.8.0 (docs/sandbox.md, "What is emulated"): TaskHub and status counts."""

from __future__ import annotations

from .sandbox_helpers import objs


def _setup(sb, alice, network, count=3):
    tf = sorted(alice.get(f"/networks/{network}/transformations").json())[0]
    return tf, alice.post(f"/transformations/{tf}/tasks", json={"count": count}).json()


def test_action_rules_return_null_unless_a_link_was_created(sb, alice, network, fresh_seed):
    tf, (w, r, e, c, i) = _setup(sb, alice, network, 5)
    for t in (r, e, c):
        sb.state.claim_task(t)
    sb.state.complete_task(e, ok=False)
    sb.state.complete_task(c, ok=True)
    sb.state.set_task_status([i], "invalid")
    foreign_net = sb.state.generate_network("path", systems=3, scope="acme-tyk2-run1", seed=fresh_seed)
    (foreign,) = sb.state.create_tasks([sb.state.transformations(foreign_net)[0]])
    ghost = w.replace(w.split("-")[1], "0" * 32)
    result = alice.post(
        f"/networks/{network}/tasks/action", json={"tasks": objs([w, r, e, c, i, foreign, ghost])}
    ).json()
    assert result == [w, r, e, None, None, None, None]
    again = alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([w, r])}).json()
    assert again == [None, None]
    weights = alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": True}).json()
    assert weights == {w: 0.5, r: 0.5, e: 0.5}
    assert sb.state.task_statuses([w, r, e]) == ["waiting", "running", "error"]  # actioning changes no status


def test_action_weight_applies_to_new_and_previously_actioned(sb, alice, network):
    tf, (a, b, c) = _setup(sb, alice, network)
    alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([a])})
    assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([a, b]), "weight": 0.9}).json() == [
        None,
        b,
    ]
    assert alice.post(
        f"/networks/{network}/tasks/action", json={"tasks": objs([c, a]), "weight": [0.1, 0.2]}
    ).json() == [c, None]
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": True}).json() == {
        a: 0.2,
        b: 0.9,
        c: 0.1,
    }


def test_action_weight_validation_happens_after_commit(sb, alice, network):
    tf, (a, b, c) = _setup(sb, alice, network)
    out_of_range = alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([a]), "weight": 1.5})
    assert out_of_range.status_code == 400
    assert out_of_range.json() == {"detail": "weight must be between 0 and 1 (inclusive)"}
    in_list = alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([b]), "weight": [-0.1]})
    assert in_list.status_code == 400
    assert in_list.json() == {"detail": "weights must be between 0 and 1 (inclusive)"}
    mismatch = alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([c]), "weight": [0.1, 0.2]})
    assert mismatch.status_code == 400
    assert mismatch.json() == {"detail": "weight (when in a list) must have the same length as tasks"}
    assert alice.post(f"/networks/{network}/tasks/actioned", json={"task_weights": True}).json() == {
        a: 0.5,
        b: 0.5,
        c: 0.5,
    }


def test_unknown_network_and_non_network_qualnames(sb, alice, network):
    tf, (a, _, _) = _setup(sb, alice, network)
    unknown = network.replace(network.split("-")[1], "1" * 32)
    assert alice.post(f"/networks/{unknown}/tasks/action", json={"tasks": objs([a])}).json() == [None]
    assert alice.post(f"/networks/{unknown}/tasks/cancel", json={"tasks": objs([a])}).json() == [None]
    assert alice.post(f"/networks/{unknown}/tasks/actioned", json={"task_weights": True}).json() == {}
    assert alice.post(f"/networks/{unknown}/tasks/actioned", json={"task_weights": False}).json() == []
    detail = {"detail": "`network` ScopedKey does not correspond to an `AlchemicalNetwork`"}
    for path, body in (
        (f"/networks/{tf}/tasks/action", {"tasks": objs([a])}),
        (f"/networks/{tf}/tasks/cancel", {"tasks": objs([a])}),
        (f"/networks/{tf}/tasks/actioned", {"task_weights": False}),
    ):
        response = alice.post(path, json=body)
        assert (response.status_code, response.json()) == (400, detail), path
    bulk = alice.post("/bulk/networks/tasks/actioned", json={"networks": [network, tf], "task_weights": False})
    assert bulk.status_code == 500


def test_cancel_returns_sk_only_when_a_link_was_removed_and_keeps_status(sb, alice, network):
    tf, (a, b, c) = _setup(sb, alice, network)
    alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([a, b])})
    sb.state.claim_task(b)
    assert alice.post(f"/networks/{network}/tasks/cancel", json={"tasks": objs([a, b, c])}).json() == [a, b, None]
    assert alice.post(f"/networks/{network}/tasks/cancel", json={"tasks": objs([a])}).json() == [None]
    assert sb.state.task_statuses([a, b]) == ["waiting", "running"]
    sb.state.complete_task(b, ok=True)  # a cancelled running task still completes
    assert sb.state.task_statuses([b]) == ["complete"]


def test_completion_and_invalidation_leave_all_hubs_error_stays(sb, alice):
    doc = {
        "scope": "acme-tyk2-run1",
        "systems": ["h1", "h2", "h3"],
        "transformations": [{"stateA": "h1", "stateB": "h2"}],
    }
    one = sb.state.load_network({**doc, "name": "hub-one"})
    two = sb.state.load_network({**doc, "name": "hub-two"})
    (tf,) = sb.state.transformations(one)
    ok, bad, gone = alice.post(f"/transformations/{tf}/tasks", json={"count": 3}).json()
    for network in (one, two):
        assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs([ok, bad, gone])}).json() == [
            ok,
            bad,
            gone,
        ]
    for t in (ok, bad):
        sb.state.claim_task(t)
    sb.state.complete_task(ok, ok=True)
    sb.state.complete_task(bad, ok=False)
    alice.post(f"/tasks/{gone}/status", json="deleted")
    bulk = alice.post("/bulk/networks/tasks/actioned", json={"networks": [one, two], "task_weights": False}).json()
    assert bulk == [[bad], [bad]]
    assert sorted(alice.post(f"/tasks/{bad}/networks/actioned", json={"task_weights": False}).json()) == sorted(
        [one, two]
    )
    assert alice.post(f"/tasks/{bad}/networks/actioned", json={"task_weights": True}).json() == {one: 0.5, two: 0.5}
    assert alice.post(f"/networks/{one}/tasks/action", json={"tasks": objs([ok])}).json() == [None]


def test_actioned_listing_requires_task_weights(sb, alice, network):
    response = alice.post(f"/networks/{network}/tasks/actioned", json={})
    assert response.status_code == 422
    response = alice.post("/bulk/networks/tasks/actioned", json={"networks": [network]})
    assert response.status_code == 422


def test_status_counts_only_nonzero_and_empty_for_unknown(sb, alice, network):
    tf, (a, b, c) = _setup(sb, alice, network)
    sb.state.claim_task(a)
    assert alice.get(f"/transformations/{tf}/status").json() == {"running": 1, "waiting": 2}
    assert alice.get(f"/networks/{network}/status").json() == {"running": 1, "waiting": 2}
    unknown = network.replace(network.split("-")[1], "2" * 32)
    assert alice.get(f"/networks/{unknown}/status").json() == {}
    other_tf = sorted(sb.state.transformations(network))[1]
    assert alice.get(f"/transformations/{other_tf}/status").json() == {}
    bulk = alice.post("/bulk/networks/status", json={"networks": [network, unknown]}).json()
    assert bulk == [{"running": 1, "waiting": 2}, {}]


def test_bulk_status_double_counts_duplicates(sb, alice, network):
    _setup(sb, alice, network, 2)
    assert alice.post("/bulk/networks/status", json={"networks": [network, network]}).json() == [
        {"waiting": 4},
        {"waiting": 4},
    ]


def test_hub_weight_get_set(sb, alice, network):
    unknown = network.replace(network.split("-")[1], "3" * 32)
    assert alice.post("/bulk/networks/weight/get", json={"networks": [network, unknown]}).json() == [0.5, None]
    assert alice.post(
        "/bulk/networks/weight/set", json={"networks": [network, unknown], "weights": [0.0, 1.0]}
    ).json() == [network, None]
    assert alice.get(f"/networks/{network}/weight").json() == 0.0
    too_big = alice.post(f"/networks/{network}/weight", json=1.5)
    assert too_big.status_code == 400
    assert too_big.json() == {"detail": "all `weights` must be between 0 and 1 (inclusive)"}
    mismatch = alice.post("/bulk/networks/weight/set", json={"networks": [network], "weights": [0.1, 0.2]})
    assert mismatch.json() == {"detail": "length of `networks` and `weights` must be the same"}
    tf = sb.state.transformations(network)[0]
    not_network = alice.post("/bulk/networks/weight/set", json={"networks": [tf], "weights": [0.1]})
    assert not_network.json() == {"detail": "a `networks` ScopedKey does not correspond to an `AlchemicalNetwork`"}


def test_network_state_bulk_set_validation(sb, alice, network):
    tf = sb.state.transformations(network)[0]
    assert alice.post("/bulk/networks/state/set", json={"networks": [network], "states": ["inactive"]}).json() == [
        network
    ]
    assert alice.post("/bulk/networks/state/get", json={"networks": [network, tf]}).json() == ["inactive", None]
    bad = alice.post("/bulk/networks/state/set", json={"networks": [network], "states": ["sleepy"]})
    assert bad.status_code == 400
    assert bad.json() == {
        "detail": "'sleepy' is not a valid state. Valid values include: ['active', 'inactive', 'invalid', 'deleted']"
    }
    assert alice.post("/bulk/networks/state/set", json={"networks": [network], "states": []}).json() == {
        "detail": "networks and states must have the same length"
    }
    assert alice.post("/bulk/networks/state/set", json={"networks": [tf], "states": ["active"]}).status_code == 400
    assert alice.post("/bulk/networks/state/get", json={"networks": [network]}).json() == ["inactive"]


def test_query_networks_filters_and_scope_intersection(sb, alice, fresh_seed):
    mine = sb.state.generate_network(
        "path", systems=3, scope="acme-tyk2-run7", seed=fresh_seed, name=f"query-{fresh_seed}"
    )
    hidden = sb.state.generate_network(
        "path", systems=3, scope="hidden-proj-run1", seed=fresh_seed, name=f"query-{fresh_seed}"
    )
    found = alice.get("/networks", params={"name": f"query-{fresh_seed}"}).json()
    assert found == [mine]
    assert alice.get("/networks", params={"name": f"query-{fresh_seed}", "org": "hidden"}).json() == []
    assert alice.get(
        "/networks", params={"name": f"query-{fresh_seed}", "project": "run7", "campaign": "tyk2", "org": "acme"}
    ).json() == [mine]
    assert alice.get("/networks", params={"name": f"query-{fresh_seed}", "state": "inactive"}).json() == []
    bad = alice.get("/networks", params={"org": "1bad"})
    assert bad.status_code == 400
    assert hidden not in alice.get("/networks").json()


def test_query_with_an_invalid_regex_is_a_plain_500(sb, alice):
    response = alice.get("/networks", params={"name": "("})
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_hub_weight_read_for_a_non_network_key_crashes_like_upstream(sb, alice, network):
    # get_taskhub_weight raises its ValueError for a non-network SK and the GET handlers do
    # not catch it: a plain 500, single and bulk; unknown networks stay null.
    tf = sb.state.transformations(network)[0]
    for response in (
        alice.get(f"/networks/{tf}/weight"),
        alice.post("/bulk/networks/weight/get", json={"networks": [network, tf]}),
    ):
        assert response.status_code == 500
        assert response.text == "Internal Server Error"


def test_transformation_system_and_task_queries_match_names_exactly_in_key_order(sb, alice, fresh_seed):
    # Upstream's _query matches `name`/`status` as node properties (equality, not a regex)
    # and orders by org, campaign, project, gufe_key.
    scope = f"acme-tyk2-q{fresh_seed}"
    network = sb.state.generate_network("path", systems=6, scope=scope, seed=fresh_seed)
    org, campaign, project = scope.split("-")
    where = {"org": org, "campaign": campaign, "project": project}
    for route, expected in (
        ("/transformations", sb.state.transformations(network)),
        ("/chemicalsystems", sb.state.network_chemical_systems(network)),
    ):
        found = alice.get(route, params=where).json()
        assert found == sorted(expected, key=_gufe_key)
        assert alice.get(route, params={**where, "name": ".*"}).json() == []
        assert alice.get(route, params={**where, "name": "("}).json() == []
    record = sb.state.transformation_records[sb.state.transformations(network)[0]]
    assert alice.get("/transformations", params={**where, "name": record.name}).json() == [record.sk]
    tasks = sb.state.create_tasks([record.sk] * 5)
    assert alice.get("/tasks", params=where).json() == sorted(tasks, key=_gufe_key)
    assert alice.get("/tasks", params={**where, "status": "wait.*"}).json() == []


def _gufe_key(sk: str) -> str:
    return sk.rsplit("-", 3)[0]


def test_network_state_set_validates_pair_by_pair_in_request_order(sb, alice, network):
    # Upstream checks each (network, state) pair in turn: the first bad pair names the error.
    tf = sb.state.transformations(network)[0]
    first_state_bad = alice.post(
        "/bulk/networks/state/set", json={"networks": [network, tf], "states": ["sleepy", "active"]}
    )
    assert first_state_bad.json() == {
        "detail": "'sleepy' is not a valid state. Valid values include: ['active', 'inactive', 'invalid', 'deleted']"
    }
    first_key_bad = alice.post(
        "/bulk/networks/state/set", json={"networks": [tf, network], "states": ["active", "sleepy"]}
    )
    assert first_key_bad.json() == {"detail": "`network` ScopedKey does not correspond to an `AlchemicalNetwork`"}


def test_an_empty_scope_query_parameter_is_a_bad_scope_not_a_wildcard(sb, alice):
    # FastAPI passes "" through for query parameters; upstream's Scope rejects it (400).
    for params in ({"org": ""}, {"org": "acme", "campaign": ""}):
        response = alice.get("/networks", params=params)
        assert response.status_code == 400, params
        assert response.json()["detail"].startswith("Requested Scope cannot be processed")
    assert alice.get("/networks", params={"org": "*"}).status_code == 200
