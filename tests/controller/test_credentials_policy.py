"""Credentials go only to servers the operator allows and the Secret's owner bound them to.

The attack (issue 15): a user who may create NetworkStrategies but not read Secrets points
`spec.server.url` at a host of their own and names a Secret of the namespace; the operator
used to read it with its own RBAC and post the key there. Here a recording fake server on
loopback stands in for the attacker's host and must receive nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig, SettingsError, from_arguments
from strategy_operator.controller.credentials_policy import (
    SERVERS_ANNOTATION,
    SecretNotBoundToServer,
    ServerNotAllowed,
    allowed_servers,
    check_secret_bound,
    check_server_allowed,
    normalize_server,
    servers_bound_by,
)
from strategy_operator.controller.outcomes import ResourceView
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.secrets import SecretCredentials, parse_secret_data
from strategy_operator.controller.sessions import SessionCache

from .operator_harness import RecordingServer

KEY = "alice-secret-key-0123"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def attacker() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


class Secrets:
    """The Secrets of namespace `ns` as the Secret reader returns them (these tests are about policy)."""

    def __init__(self, secrets: dict[tuple[str, str], SecretCredentials]) -> None:
        self.secrets = secrets
        self.reads: list[tuple[str, str]] = []

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        self.reads.append((namespace, name))
        return self.secrets[(namespace, name)]


async def one_pass(runner: IterationRunner, network: str, server: dict | None, namespace: str = "ns") -> object:
    spec = {"network": network, "strategy": {"name": "ConnectivityStrategy"}}
    if server:
        spec["server"] = server
    sessions = SessionCache()
    try:
        return await runner.run(
            ResourceView(namespace, "x", 1, spec, NetworkStrategyStatus(), {}),
            sessions,
            transient_failures=0,
            mode_now=lambda: "partial",
        )
    finally:
        await sessions.aclose()


# -- the pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://Example.ORG:80/", "http://example.org"),
        ("https://example.org:443/api/", "https://example.org/api"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_urls_are_compared_in_a_normal_form(url, normal):
    assert normalize_server(url) == normal


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org", "http://user:pw@example.org", "http://:80"])
def test_what_is_not_an_http_url_is_refused(url):
    with pytest.raises(ValueError):
        normalize_server(url)


def test_the_allow_list_defaults_to_the_default_server_alone():
    assert allowed_servers((), "https://alchemiscale.example.org/") == ("https://alchemiscale.example.org",)
    assert allowed_servers((), None) == ()
    assert allowed_servers(("http://a.example", "http://b.example"), "http://c.example") == (
        "http://a.example",
        "http://b.example",
    )
    with pytest.raises(ServerNotAllowed, match="allow-list.*nothing was sent"):
        check_server_allowed("http://evil.example", ("https://alchemiscale.example.org",))
    with pytest.raises(ServerNotAllowed, match="no --default-server"):
        check_server_allowed("http://evil.example", ())
    check_server_allowed("https://ALCHEMISCALE.example.org:443/", ("https://alchemiscale.example.org",))


def test_a_secret_names_its_servers_by_annotation_or_data_key():
    data = {"identifier": "YWxpY2U=", "key": "a2V5LTEyMw=="}  # alice, key-123
    assert parse_secret_data(data, "ns/s").servers == ()
    annotated = parse_secret_data(data, "ns/s", {SERVERS_ANNOTATION: "https://a.example/, http://b.example:8080"})
    assert annotated.servers == ("https://a.example", "http://b.example:8080")
    keyed = parse_secret_data({**data, "server": "aHR0cHM6Ly9jLmV4YW1wbGUv"}, "ns/s")  # https://c.example/
    assert keyed.servers == ("https://c.example",)
    assert "key-123" not in repr(keyed)
    assert servers_bound_by({SERVERS_ANNOTATION: "not a url, http://d.example"}, None) == ("http://d.example",)


def test_only_the_default_secret_is_bound_to_the_default_server_by_configuration():
    default = "https://alchemiscale.example.org"
    check_secret_bound(default, secret_ref="op/default", bound=(), is_default_secret=True, default_server=default)
    with pytest.raises(SecretNotBoundToServer, match=f"{SERVERS_ANNOTATION}=https://alchemiscale.example.org"):
        check_secret_bound(default, secret_ref="ns/creds", bound=(), is_default_secret=False, default_server=default)
    with pytest.raises(SecretNotBoundToServer, match="it names https://alchemiscale.example.org"):
        check_secret_bound(
            "http://other.example",
            secret_ref="op/default",
            bound=(default,),
            is_default_secret=True,
            default_server=default,
        )


def test_the_allowed_servers_setting_is_validated():
    settings = from_arguments(None, {"STRATEGY_OPERATOR_ALLOWED_SERVERS": "https://a.example/, http://b.example"})
    assert settings.allowed_servers == ("https://a.example", "http://b.example")
    with pytest.raises(SettingsError, match="STRATEGY_OPERATOR_ALLOWED_SERVERS.*not an http"):
        from_arguments(None, {"STRATEGY_OPERATOR_ALLOWED_SERVERS": "a.example"})


# -- the attack, one pass at a time ------------------------------------------------------------


async def test_a_server_off_the_allow_list_gets_nothing_and_no_secret_is_read(sandbox, attacker):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    secrets = Secrets({("ns", "creds"): SecretCredentials("alice", KEY, (normalize_server(sandbox.url),))})
    runner = IterationRunner(
        OperatorConfig(default_server=sandbox.url, min_sleep_interval=1), secrets, None, clock=lambda: NOW
    )  # type: ignore[arg-type]
    outcome = await one_pass(runner, network, {"url": attacker.url, "credentialsSecret": "creds"})
    assert outcome.result == "error"
    assert outcome.status_change.exception.type == "ServerNotAllowed"
    assert "nothing was sent" in outcome.status_change.exception.message
    assert attacker.requests == [] and secrets.reads == []
    assert KEY not in repr(outcome)


async def test_the_default_secret_is_not_sent_to_another_server(sandbox, attacker):
    # The CRD already refuses spec.server.url without credentialsSecret; in the operator's own
    # namespace a resource can still name the default Secret by name.
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    secrets = Secrets({("op", "default"): SecretCredentials("alice", KEY)})
    settings = OperatorConfig(
        default_server=sandbox.url,
        default_credentials_secret="default",
        operator_namespace="op",
        allowed_servers=(sandbox.url, attacker.url),
        min_sleep_interval=1,
    )
    runner = IterationRunner(settings, secrets, None, clock=lambda: NOW)  # type: ignore[arg-type]
    outcome = await one_pass(runner, network, {"url": attacker.url, "credentialsSecret": "default"}, "op")
    assert outcome.result == "error", outcome.log
    assert outcome.status_change.exception.type == "SecretNotBoundToServer"
    assert attacker.requests == []
    # ... while the default server itself is served with it.
    assert (await one_pass(runner, network, None)).result == "iterated"


async def test_an_allowed_server_the_secret_does_not_name_gets_nothing(sandbox, attacker):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    secrets = Secrets({("ns", "creds"): SecretCredentials("alice", KEY, (normalize_server(sandbox.url),))})
    settings = OperatorConfig(allowed_servers=(sandbox.url, attacker.url), min_sleep_interval=1)
    runner = IterationRunner(settings, secrets, None, clock=lambda: NOW)  # type: ignore[arg-type]
    outcome = await one_pass(runner, network, {"url": attacker.url, "credentialsSecret": "creds"})
    assert outcome.status_change.exception.type == "SecretNotBoundToServer"
    assert attacker.requests == []
    assert (await one_pass(runner, network, {"url": sandbox.url, "credentialsSecret": "creds"})).result == "iterated"


async def test_an_unbound_secret_is_sent_nowhere_not_even_to_the_default_server(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    secrets = Secrets({("ns", "creds"): SecretCredentials("alice", KEY)})
    runner = IterationRunner(
        OperatorConfig(default_server=sandbox.url, min_sleep_interval=1), secrets, None, clock=lambda: NOW
    )  # type: ignore[arg-type]
    before = sandbox.requests.total
    outcome = await one_pass(runner, network, {"credentialsSecret": "creds"})
    assert outcome.status_change.exception.type == "SecretNotBoundToServer"
    assert sandbox.requests.total == before
