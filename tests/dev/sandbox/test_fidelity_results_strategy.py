"""Fidelity to upstream 0.8.0 (docs/sandbox.md, "What is emulated"): results and strategy endpoints."""

from __future__ import annotations

import json

from .sandbox_helpers import objs

CHAIN = [
    [
        "ConnectivityStrategy-" + "a" * 32,
        {
            "__qualname__": "ConnectivityStrategy",
            "__module__": "stratocaster.strategies.connectivity",
            "settings": {
                "__class__": "ConnectivityStrategySettings",
                "__module__": "stratocaster.strategies.connectivity",
                ":is_custom:": True,
                "max_runs": 3,
                "cutoff": None,
                "decay_rate": 0.5,
            },
        },
    ]
]


def test_results_regardless_of_task_status_and_failures_separate(sb, alice, network):
    tf = sorted(sb.state.transformations(network))[0]
    a, b = alice.post(f"/transformations/{tf}/tasks", json={"count": 2}).json()
    sb.state.claim_task(a)
    ok_ref = sb.state.complete_task(a, ok=True)
    sb.state.claim_task(b)
    fail_ref = sb.state.complete_task(b, ok=False)
    sb.state.set_task_status([b], "waiting")
    sb.state.claim_task(b)
    sb.state.expire_task(b)  # reset to waiting; the first service still reports late
    late_ref = sb.state.complete_task(b, ok=True)
    assert sb.state.task_statuses([b]) == ["waiting"]
    assert sorted(alice.get(f"/transformations/{tf}/results").json()) == sorted([ok_ref, late_ref])
    assert alice.get(f"/transformations/{tf}/failures").json() == [fail_ref]
    assert alice.get(f"/tasks/{b}/results").json() == [late_ref]
    assert alice.get(f"/tasks/{b}/failures").json() == [fail_ref]
    alice.post(f"/tasks/{a}/status", json="invalid")
    assert ok_ref in alice.get(f"/transformations/{tf}/results").json()  # still counted
    assert len({ok_ref, late_ref, fail_ref}) == 3
    ghost = a.replace(a.split("-")[1], "0" * 32)
    assert alice.get(f"/tasks/{ghost}/results").json() == []


def test_result_payload_is_a_one_element_latin1_list(sb, alice, network):
    tf = sorted(sb.state.transformations(network))[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    sb.state.claim_task(task)
    ref = sb.state.complete_task(task, ok=True)
    payload = alice.get(f"/transformations/{tf}/results/{ref}").json()
    assert isinstance(payload, list) and len(payload) == 1
    assert json.loads(payload[0].encode("latin-1"))[0][1]["ok"] is True
    wrong_route = alice.get(f"/transformations/{tf}/outputs/{ref}")
    assert wrong_route.status_code == 400
    assert wrong_route.json() == {"detail": "`route` takes 'results' or 'failures', not 'outputs'"}
    unknown = ref.replace(ref.split("-")[1], "0" * 32)
    assert alice.get(f"/transformations/{tf}/results/{unknown}").json() == {"detail": "'No such object in database'"}


def test_strategy_stored_verbatim_with_state_defaults(sb, alice, network):
    assert alice.get(f"/networks/{network}/strategy").json() is None
    assert alice.get(f"/networks/{network}/strategy/state").json() is None
    assert alice.get(f"/networks/{network}/strategy/status").json() is None
    sk = alice.post(
        f"/networks/{network}/strategy", json={"strategy": CHAIN, "mode": "full", "sleep_interval": 600, "bogus": 1}
    ).json()
    assert sk == f"{CHAIN[0][0]}-acme-tyk2-run1"
    assert alice.get(f"/networks/{network}/strategy").json() == CHAIN
    assert alice.get(f"/exists/{sk}").json() is True
    assert alice.get(f"/networks/{network}/strategy/state").json() == {
        "mode": "full",
        "status": "awake",
        "iterations": 0,
        "sleep_interval": 600,
        "last_iteration": None,
        "last_iteration_result_count": 0,
        "max_tasks_per_transformation": 3,
        "task_scaling": "exponential",
        "exception": None,
        "traceback": None,
    }


def test_strategy_post_replaces_state_and_accepts_all_fields(sb, alice, network):
    alice.post(f"/networks/{network}/strategy", json={"strategy": CHAIN, "iterations": 5, "mode": "full"})
    alice.post(
        f"/networks/{network}/strategy",
        json={
            "strategy": CHAIN,
            "status": "error",
            "iterations": 7,
            "last_iteration": "2026-11-25T12:00:00Z",
            "last_iteration_result_count": 4,
            "exception": ["ValueError", "boom"],
            "traceback": "tb",
        },
    )
    state = alice.get(f"/networks/{network}/strategy/state").json()
    assert state["mode"] == "partial"  # replaced, not merged
    assert state["iterations"] == 7 and state["status"] == "error"
    assert state["last_iteration"] == "2026-11-25T12:00:00+00:00"
    assert state["exception"] == ["ValueError", "boom"] and state["traceback"] == "tb"
    assert alice.get(f"/networks/{network}/strategy/status").json() == "error"
    assert alice.post(f"/networks/{network}/strategy/awake", json={}).json() == network
    state = alice.get(f"/networks/{network}/strategy/state").json()
    assert (state["status"], state["exception"], state["traceback"], state["iterations"]) == ("awake", None, None, 7)


def test_strategy_errors(sb, alice, network):
    missing = alice.post(f"/networks/{network}/strategy", json={"mode": "full"})
    assert missing.status_code == 422 and missing.json() == {"detail": "'strategy'"}
    bad_state = alice.post(f"/networks/{network}/strategy", json={"strategy": CHAIN, "sleep_interval": 0})
    assert bad_state.status_code == 422 and isinstance(bad_state.json()["detail"], str)
    assert "sleep_interval" in bad_state.json()["detail"]
    bad_chain = alice.post(f"/networks/{network}/strategy", json={"strategy": {"not": "a chain"}})
    assert bad_chain.status_code == 422 and isinstance(bad_chain.json()["detail"], str)
    not_json = alice.post(
        f"/networks/{network}/strategy", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 500
    unknown = network.replace(network.split("-")[1], "4" * 32)
    assert alice.post(f"/networks/{unknown}/strategy", json={"strategy": CHAIN}).status_code == 500
    assert alice.post(f"/networks/{unknown}/strategy", json={"strategy": None}).json() is None
    tf = sb.state.transformations(network)[0]
    assert alice.post(f"/networks/{tf}/strategy", json={"strategy": CHAIN}).status_code == 500
    assert alice.post(f"/networks/{tf}/strategy", json={"strategy": None}).status_code == 500
    assert alice.post(f"/networks/{unknown}/strategy/awake", json={}).json() is None


def test_strategy_removal(sb, alice, network):
    alice.post(f"/networks/{network}/strategy", json={"strategy": CHAIN})
    assert alice.post(f"/networks/{network}/strategy", json={"strategy": None}).json() is None
    assert alice.get(f"/networks/{network}/strategy").json() is None
    assert alice.post(f"/networks/{network}/strategy/awake", json={}).json() is None


def test_unordered_lists_are_shuffled_but_bulk_results_aligned(sb, alice):
    network = sb.state.generate_network("path", systems=30, scope="acme-tyk2-run1", seed=77)
    orders = {tuple(alice.get(f"/networks/{network}/transformations").json()) for _ in range(4)}
    assert len(orders) > 1  # clients must not rely on incidental order
    tfs = sorted(sb.state.transformations(network))
    created = alice.post("/bulk/transformations/tasks/create", json={"transformations": tfs}).json()
    assert [sb.state.tasks[t].transformation for t in created] == tfs
    reversed_keys = objs(list(reversed(created)))
    assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": reversed_keys}).json() == list(
        reversed(created)
    )


def test_strategy_state_is_validated_before_the_network_is_looked_up(sb, alice, network):
    # Upstream builds its StrategyState from the body before touching the store: a bad state
    # is a 422 even on a network that does not exist or an SK that is not a network.
    unknown = network.replace(network.split("-")[1], "5" * 32)
    tf = sb.state.transformations(network)[0]
    for target in (network, unknown, tf):
        response = alice.post(f"/networks/{target}/strategy", json={"strategy": CHAIN, "mode": "bogus"})
        assert response.status_code == 422, target
        detail = response.json()["detail"]
        # str() of pydantic's error for upstream's model: its name, and the enum's choices.
        assert detail.startswith("1 validation error for StrategyState\nmode\n")
        assert "Input should be 'full', 'partial' or 'disabled' [type=enum" in detail


def test_result_payload_is_found_by_its_ref_whatever_the_route_or_transformation(sb, alice, network):
    # Upstream first looks under the route's (and the given transformation's) path in the
    # object store, then falls back to the location stored on the ref, which ignores both.
    tf, other = sorted(sb.state.transformations(network))[:2]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    sb.state.claim_task(task)
    ref = sb.state.complete_task(task, ok=True)
    expected = alice.get(f"/transformations/{tf}/results/{ref}").json()
    for url in (f"/transformations/{tf}/failures/{ref}", f"/transformations/{other}/results/{ref}"):
        response = alice.get(url)
        assert (response.status_code, response.json()) == (200, expected), url
