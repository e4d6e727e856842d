"""Fault injection and request counting, in-process and over the admin endpoints."""

from __future__ import annotations

import time

import httpx
import pytest


def test_fail_next_answers_without_processing(sb, alice, network):
    sb.faults.fail_next(2, status=503, path_prefix="/networks/")
    for _ in range(2):
        response = alice.get(f"/networks/{network}/transformations")
        assert response.status_code == 503 and "injected" in response.json()["detail"]
    assert alice.get("/info").status_code == 200  # other paths untouched
    assert alice.get(f"/networks/{network}/transformations").status_code == 200
    sb.faults.fail_next(1, status=500)
    response = alice.get("/info")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_delay_next(sb, alice):
    sb.faults.delay_next(1, 0.5)
    start = time.monotonic()
    assert alice.get("/info").status_code == 200
    assert time.monotonic() - start >= 0.5
    with pytest.raises(httpx.ReadTimeout):
        sb.faults.delay_next(1, 1.0)
        alice.get("/info", timeout=0.2)


def test_drop_next_closes_the_connection_without_answer(sb, alice):
    sb.faults.drop_next(1, path_prefix="/info")
    with pytest.raises(httpx.RemoteProtocolError):
        alice.get("/info")
    assert alice.get("/info").status_code == 200  # the next request gets a fresh connection


def test_drop_after_processing_loses_only_the_response(sb, alice, network):
    tf = sb.state.transformations(network)[0]
    sb.faults.drop_next(1, path_prefix="/transformations/", after_processing=True)
    with pytest.raises(httpx.RemoteProtocolError):
        alice.post(f"/transformations/{tf}/tasks", json={"count": 2})
    assert len(sb.state.transformation_tasks(tf)) == 2  # created although the client saw nothing


@pytest.mark.parametrize("over_admin", [False, True], ids=["in-process", "admin-endpoint"])
def test_answer_after_processing_replaces_only_the_response(sb, alice, network, over_admin):
    tf = sb.state.transformations(network)[0]
    fault = {"status": 503, "body": "Service Unavailable", "content_type": "text/plain"}
    fault |= {"headers": {"Retry-After": "120"}, "path_prefix": "/transformations/", "after_processing": True}
    if over_admin:
        assert httpx.post(f"{sb.url}/_sandbox/faults/answer", json={"count": 1, **fault}).status_code == 200
    else:
        sb.faults.answer_next(1, **fault)
    response = alice.post(f"/transformations/{tf}/tasks", json={"count": 2})
    assert (response.status_code, response.text, response.headers["retry-after"]) == (503, "Service Unavailable", "120")
    assert len(sb.state.transformation_tasks(tf)) == 2  # created although the client was told 503


def test_outage_until_switched_off(sb, alice):
    sb.faults.outage(True)
    try:
        assert alice.get("/info").status_code == 503
        assert httpx.get(f"{sb.url}/ping").status_code == 503
    finally:
        sb.faults.outage(False)
    assert alice.get("/info").status_code == 200


def test_requests_are_counted_by_route_template(sb, alice, network):
    sb.requests.reset()
    alice.get(f"/networks/{network}/transformations")
    alice.get(f"/networks/{network}/transformations")
    alice.post("/bulk/networks/status", json={"networks": [network]})
    assert sb.requests["GET /networks/{network_scoped_key}/transformations"] == 2
    assert sb.requests.count("POST") == 1
    assert sb.requests.total == 3


def test_admin_endpoints_control_an_out_of_process_sandbox(sb, alice):
    admin = httpx.Client(base_url=f"{sb.url}/_sandbox")
    network = admin.post(
        "/networks/generate", json={"shape": "path", "systems": 3, "scope": "acme-tyk2-run1", "seed": 99}
    ).json()["network"]
    loaded = admin.post(
        "/networks",
        json={
            "name": "via-admin",
            "scope": "acme-tyk2-run1",
            "systems": ["q1", "q2"],
            "transformations": [{"stateA": "q1", "stateB": "q2"}],
        },
    )
    assert loaded.status_code == 200
    bad = admin.post(
        "/networks",
        json={"scope": "acme-tyk2-run1", "systems": ["q1"], "transformations": [{"stateA": "q1", "stateB": "nope"}]},
    )
    assert bad.status_code == 422 and "transformations[0].stateB" in bad.json()["detail"]
    assert (
        admin.post("/identities", json={"identifier": "dave", "key": "dave-key", "scopes": ["acme-*-*"]}).status_code
        == 200
    )
    assert httpx.post(f"{sb.url}/token", data={"username": "dave", "password": "dave-key"}).status_code == 200
    tf = alice.get(f"/networks/{network}/transformations").json()[0]
    (task,) = alice.post(f"/transformations/{tf}/tasks", json={"count": 1}).json()
    assert admin.post(f"/tasks/{task}/claim").json()["status"] == "running"
    ref = admin.post(f"/tasks/{task}/complete", json={"ok": True}).json()["result"]
    assert alice.get(f"/tasks/{task}/results").json() == [ref]
    assert admin.post(f"/tasks/{task}/expire").status_code == 409
    admin.post("/requests/reset")
    admin.post("/faults/fail", json={"count": 1, "status": 502})
    assert alice.get("/info").status_code == 502
    admin.post("/faults/drop", json={"count": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        alice.get("/info")
    admin.post("/faults/outage", json={"active": True})
    assert alice.get("/info").status_code == 503
    admin.post("/faults/clear")
    assert alice.get("/info").status_code == 200
    served = admin.get("/requests").json()
    assert served["total"] == 4 and served["byRoute"]["GET /info"] >= 2
    assert admin.post("/compute/step", json={"seconds": 1}).status_code == 409  # no simulator here
