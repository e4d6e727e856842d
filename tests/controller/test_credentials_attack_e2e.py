"""The credential theft of issue 15 against the real operator, API server and Secrets.

A user who may create NetworkStrategies but not read Secrets names a Secret of the namespace
and a server of their own; a recording server on loopback plays that server and must
receive nothing, whichever way the resource is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .operator_harness import IDENTITY, KEY, RecordingServer, network_strategy, wait_for

SCOPE = "acme-tyk2-run1"


@pytest.fixture
def attacker() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def _error(cluster, name: str) -> dict:
    status = wait_for(
        lambda: cluster.status(name).get("status") == "error" and cluster.status(name),
        timeout=60,
        what=f"{name} in error",
    )
    assert KEY not in str(status) and all(KEY not in e["message"] for e in cluster.events(name))
    return status


def test_no_resource_can_send_a_secret_to_a_server_its_owner_did_not_name(
    sandbox, cluster, start_operator, kubectl, attacker
):
    cluster.credentials(IDENTITY, KEY)  # bound by its owner to the sandbox
    cluster.credentials(IDENTITY, KEY, name="unbound", servers=())
    # The installer allows a second server (the attacker's host, say a staging server once);
    # the Secret's owner never bound the Secret to it.
    start_operator(default_server=True, allowed_servers=(sandbox.url, attacker.url))
    elsewhere = attacker.url.replace("127.0.0.1", "localhost")
    cluster.apply(
        network_strategy(
            "off-list", sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=1), url=elsewhere
        )
    )
    cluster.apply(
        network_strategy(
            "not-bound", sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=2), url=attacker.url
        )
    )
    cluster.apply(
        network_strategy(
            "unbound", sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=3), secret="unbound"
        )
    )
    honest = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=4)
    cluster.apply(network_strategy("honest", honest))

    off_list = _error(cluster, "off-list")
    assert off_list["exception"]["type"] == "ServerNotAllowed"
    assert "nothing was sent" in off_list["exception"]["message"]
    assert cluster.condition("off-list", "Degraded")["reason"] == "ServerNotAllowed"
    not_bound = _error(cluster, "not-bound")
    assert not_bound["exception"]["type"] == "SecretNotBoundToServer"
    assert "alchemiscale.org/servers=" in not_bound["exception"]["message"]
    unbound = _error(cluster, "unbound")
    assert unbound["exception"]["type"] == "SecretNotBoundToServer"
    wait_for(lambda: cluster.status("honest").get("iterations", 0) >= 1, timeout=60, what="the honest resource")

    time.sleep(2)  # a few more ticks: errors stay errors, nothing is retried towards the attacker
    assert attacker.requests == []

    # The Secret's owner binds it to the second server: now, and only now, it is used there.
    kubectl(
        "annotate",
        "secret",
        "alchemiscale-creds",
        "--overwrite",
        f"alchemiscale.org/servers={sandbox.url},{attacker.url}",
    )
    cluster.wake("not-bound", "owner-bound-it")
    wait_for(lambda: attacker.requests, timeout=30, what="the owner-approved server to be used")
    assert attacker.requests[0][:2] == ("POST", "/token")
