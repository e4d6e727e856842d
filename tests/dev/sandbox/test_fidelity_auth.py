"""Fidelity to upstream 0.8.0 (docs/sandbox.md, "What is emulated"): auth: token issue, token validation and scope coverage, over HTTP."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from strategy_operator_dev.sandbox.testing import running_sandbox

from .sandbox_helpers import login, objs


def test_token_is_a_form_login_returning_a_bearer_jwt_with_sub_scopes_exp(sb):
    before = time.time()
    response = httpx.post(f"{sb.url}/token", data={"username": "alice", "password": "alice-key"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(claims) == {"sub", "scopes", "exp"}
    assert claims["sub"] == "alice" and claims["scopes"] == ["acme-tyk2-*"]
    assert before + 1800 - 2 <= claims["exp"] <= time.time() + 1800 + 1


def test_wrong_key_is_401_with_bearer_challenge(sb):
    response = httpx.post(f"{sb.url}/token", data={"username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect identity or key"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_identity_at_token_is_a_plain_500_like_upstream(sb):
    response = httpx.post(f"{sb.url}/token", data={"username": "mallory", "password": "x"})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_token_form_fields_are_required(sb):
    response = httpx.post(f"{sb.url}/token", data={"username": "alice"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_empty_token_form_fields_count_as_missing(sb):
    # FastAPI's form parsing (OAuth2PasswordRequestForm) treats "" as absent: required
    # fields are then missing (422) and the optional grant_type takes its default.
    for form, missing in (
        ({"username": "", "password": "alice-key"}, ["username"]),
        ({"username": "alice", "password": ""}, ["password"]),
        ({"username": "", "password": ""}, ["username", "password"]),
    ):
        response = httpx.post(f"{sb.url}/token", data=form)
        assert response.status_code == 422, form
        assert [error["loc"] for error in response.json()["detail"]] == [["body", name] for name in missing]
    response = httpx.post(f"{sb.url}/token", data={"grant_type": "", "username": "alice", "password": "alice-key"})
    assert response.status_code == 200


def test_missing_or_non_bearer_header_is_not_authenticated(sb):
    for headers in ({}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{sb.url}/info", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert response.headers["www-authenticate"] == "Bearer"


def test_bad_or_expired_token_cannot_be_validated(sb):
    expired = sb.token_for("alice", lifetime=-1)
    for token in (
        "garbage",
        expired,
        jwt.encode({"sub": "alice", "scopes": ["*-*-*"], "exp": 2**40}, "another-secret-that-is-long-enough-for-hs256"),
    ):
        response = httpx.get(f"{sb.url}/info", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json() == {"detail": "Could not validate credentials"}
        assert response.headers["www-authenticate"] == "Bearer"
    ok = httpx.get(f"{sb.url}/info", headers={"Authorization": f"bearer {sb.token_for('alice')}"})
    assert ok.json() == {"message": "nothing yet"}


def test_configurable_token_lifetime_lets_tests_force_expiry():
    with running_sandbox(identities={"alice": ("k", ["acme-*-*"])}, token_lifetime=2) as sb:
        token = httpx.post(f"{sb.url}/token", data={"username": "alice", "password": "k"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{sb.url}/info", headers=headers).status_code == 200
        time.sleep(3.1)
        assert httpx.get(f"{sb.url}/info", headers=headers).json() == {"detail": "Could not validate credentials"}


def test_scopes_are_frozen_into_the_token(sb):
    sb.state.add_identity("carol", "carol-key", ["acme-tyk2-run1"])
    client = login(sb, "carol")
    sb.state.add_identity("carol", "carol-key", ["acme-other-run1"])
    network = sb.state.generate_network("path", systems=3, scope="acme-tyk2-run1", seed=5)
    assert client.get(f"/networks/{network}/transformations").status_code == 200


def test_scope_denied_message_is_exact_with_python_list_repr(sb, network):
    bob = login(sb, "bob")
    other = network.replace("acme-tyk2-run1", "acme-tyk2-run2")
    response = bob.get(f"/networks/{other}/transformations")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Targeted scope 'acme-tyk2-run2' not accessible via scopes for this identity: ['acme-tyk2-run1']."
    }
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token_scope, covered",
    [
        ("acme-tyk2-run1", True),
        ("acme-tyk2-*", True),
        ("acme-*-*", True),
        ("*-*-*", True),
        ("acme-tyk2-run2", False),
        ("other-*-*", False),
    ],
)
def test_wildcard_scope_coverage(sb, network, token_scope, covered):
    identifier = f"scoped_{token_scope.replace('*', 'x').replace('-', '_')}"
    sb.state.add_identity(identifier, "k", [token_scope])
    client = login(sb, identifier, "k")
    assert (client.get(f"/networks/{network}/transformations").status_code == 200) is covered


def test_bulk_network_endpoints_fail_whole_request_on_one_uncovered_scope(sb, network):
    bob = login(sb, "bob")
    other = network.replace("acme-tyk2-run1", "acme-tyk2-run2")
    for path, body in (
        ("/bulk/networks/status", {"networks": [network, other]}),
        ("/bulk/networks/state/get", {"networks": [network, other]}),
        ("/bulk/networks/tasks/actioned", {"networks": [network, other], "task_weights": False}),
    ):
        response = bob.post(path, json=body)
        assert response.status_code == 401, path
        assert "acme-tyk2-run2" in response.json()["detail"]
    tf = bob.get(f"/networks/{network}/transformations").json()[0]
    response = bob.post(
        "/bulk/transformations/tasks/create", json={"transformations": [tf, tf.replace("run1", "run2")]}
    )
    assert response.status_code == 401
    assert bob.get(f"/transformations/{tf}/tasks").json() == []  # nothing created


def test_bulk_task_endpoints_silently_null_uncovered_tasks(sb, alice, network):
    tf = alice.get(f"/networks/{network}/transformations").json()[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    # A task in a scope alice's token does not cover.
    foreign_net = sb.state.generate_network("star", systems=3, scope="other-proj-run1", seed=7)
    foreign_tf = sb.state.transformations(foreign_net)[0]
    (foreign,) = sb.state.create_tasks([foreign_tf])
    keys = objs([task, foreign])
    assert alice.post("/bulk/tasks/status/get", json={"tasks": keys}).json() == ["waiting", None]
    assert alice.post("/bulk/tasks/priority/get", json={"tasks": keys}).json() == [10, None]
    assert alice.post("/bulk/tasks/priority/set", json={"tasks": keys, "priority": 3}).json() == [task, None]
    assert alice.post("/bulk/tasks/status/set", json={"tasks": keys, "status": "deleted"}).json() == [task, None]
    assert sb.state.task_statuses([foreign]) == ["waiting"]


def test_identity_scopes_listing(sb, alice):
    assert alice.get("/identities/bob/scopes").json() == ["acme-tyk2-run1"]
    assert alice.get("/identities/nobody/scopes").json() == []
    assert alice.get("/identities/o'brien/scopes").status_code == 500  # upstream splices it into Cypher
