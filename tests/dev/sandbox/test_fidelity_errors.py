"""Fidelity to upstream 0.8.0 (docs/sandbox.md, "What is emulated"): parsing and error shapes, over HTTP."""

from __future__ import annotations

import gzip
import json

from .sandbox_helpers import login, objs


def test_malformed_path_sk_is_plain_text_500_even_without_scope(sb):
    bob = login(sb, "bob")
    for bad in (
        "nonsense",
        "Transformation-abc-acme-tyk2",
        "Transformation-abc-acme-tyk2-run1-x",
        "Transformation-a.b-acme-tyk2-run1",
    ):
        response = bob.get(f"/transformations/{bad}/tasks")
        assert response.status_code == 500, bad
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "Internal Server Error"


def test_exists_422_only_for_wrong_part_count(sb, alice, network):
    assert alice.get(f"/exists/{network}").json() is True
    assert alice.get(f"/exists/{network.replace('AlchemicalNetwork', 'Gadget')}").json() is False
    wrong = alice.get("/exists/AlchemicalNetwork-abc-acme-tyk2")
    assert wrong.status_code == 422
    assert wrong.json() == {"detail": "input does not appear to be a `ScopedKey`"}
    assert alice.get("/exists/Task-a.b-acme-tyk2-run1").status_code == 500
    assert alice.get("/exists/Task-ab-other-tyk2-run1").status_code == 401


def test_task_lists_need_scopedkey_objects_strings_crash(sb, alice, network):
    tf = alice.get(f"/networks/{network}/transformations").json()[0]
    tasks = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    for path, extra in (
        (f"/networks/{network}/tasks/action", {}),
        (f"/networks/{network}/tasks/cancel", {}),
        ("/bulk/tasks/status/get", {}),
        ("/bulk/tasks/priority/get", {}),
    ):
        response = alice.post(path, json={"tasks": tasks, **extra})
        assert response.status_code == 500, path
        assert response.text == "Internal Server Error"
    assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": objs(tasks)}).json() == tasks


def test_scopedkey_objects_are_validated_like_upstreams_model(sb, alice, network):
    # Upstream's ScopedKey checks the gufe_key (a ValueError, so FastAPI's 422) but not the
    # scope components; those only fail where a Scope is built from them (500).
    scope = {"org": "acme", "campaign": "tyk2", "project": "run1"}
    for gufe_key, message in (
        ("Task-ab.c", "Value error, gufe_key contains invalid characters"),
        ("Taskabc", "Value error, gufe_key must be of the form '<prefix>-<hex>'"),
    ):
        for path in (
            f"/networks/{network}/tasks/action",
            f"/networks/{network}/tasks/cancel",
            "/bulk/tasks/status/get",
        ):
            response = alice.post(path, json={"tasks": [{"gufe_key": gufe_key, **scope}]})
            assert response.status_code == 422, (gufe_key, path)
            [error] = response.json()["detail"]
            assert (error["loc"], error["msg"]) == (["body", "tasks", 0, "gufe_key"], message)
    odd_scope = {"gufe_key": "Task-" + "a" * 32, "org": "1bad", "campaign": "tyk2", "project": "run1"}
    assert alice.post(f"/networks/{network}/tasks/action", json={"tasks": [odd_scope]}).json() == [None]
    assert alice.post(f"/networks/{network}/tasks/cancel", json={"tasks": [odd_scope]}).json() == [None]
    assert alice.post("/bulk/tasks/status/get", json={"tasks": [odd_scope]}).status_code == 500


def test_bare_value_bodies(sb, alice, network):
    tf = alice.get(f"/networks/{network}/transformations").json()[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    assert alice.post(f"/tasks/{task}/status", json="invalid").json() == task
    assert alice.post(f"/tasks/{task}/status", json={"status": "invalid"}).status_code == 422
    assert alice.post(f"/networks/{network}/weight", json=0.25).json() == network
    assert alice.get(f"/networks/{network}/weight").json() == 0.25
    assert alice.post(f"/networks/{network}/weight", json={"weight": 0.3}).status_code == 422


def test_validation_422_is_list_form(sb, alice, network):
    response = alice.post(f"/networks/{network}/tasks/actioned", json={})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"] == ["body", "task_weights"]
    not_json = alice.post(
        f"/networks/{network}/tasks/actioned", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and isinstance(not_json.json()["detail"], list)


def test_non_json_body_is_rejected_before_auth_and_auth_before_fields(sb, network):
    url = f"{sb.url}/networks/{network}/tasks/actioned"
    import httpx

    assert httpx.post(url, content=b"{nope", headers={"content-type": "application/json"}).status_code == 422
    assert httpx.post(url, json={}).status_code == 401


def test_404_only_for_unknown_routes_and_405_for_wrong_method(sb, alice, network):
    assert alice.get("/no/such/route").status_code == 404
    assert alice.get(f"/networks/{network}/state").status_code == 404  # no such endpoint in 0.8.0
    assert alice.get(f"/networks/{network}/tasks/actioned").status_code == 405
    unknown = network.replace(network.split("-")[1], "0" * 32)
    assert alice.get(f"/networks/{unknown}/transformations").json() == []


def test_object_get_unknown_is_400_with_quoted_message(sb, alice, network):
    chain = alice.get(f"/networks/{network}").json()
    assert chain[-1][0] == "-".join(network.split("-")[:2])
    unknown = network.replace(network.split("-")[1], "0" * 32)
    response = alice.get(f"/networks/{unknown}")
    assert response.status_code == 400
    assert response.json() == {"detail": "'No such object in database'"}


def test_gzip_request_bodies_and_responses(sb, alice, network):
    body = gzip.compress(json.dumps({"networks": [network] * 150}).encode())
    response = alice.post(
        "/bulk/networks/state/get",
        content=body,
        headers={"content-type": "application/json", "content-encoding": "gzip", "accept-encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.json() == ["active"] * 150
    assert response.headers.get("content-encoding") == "gzip"  # >= 1000 bytes


def test_ping_info_check(sb, alice):
    import httpx

    assert httpx.get(f"{sb.url}/ping").json() == {"api": "AlchemiscaleAPI"}
    assert alice.get("/check").json() is None
    sb.state.store_reachable = False
    try:
        response = alice.get("/check")
        assert response.status_code == 503
        assert response.json() == {
            "detail": "Attempt to reach services failed, Neo4j reachable: False, S3 reachable: False"
        }
    finally:
        sb.state.store_reachable = True
