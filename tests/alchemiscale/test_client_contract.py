"""The client against the sandbox over loopback HTTP: endpoints, tokens, errors, retries."""

from __future__ import annotations

import asyncio
import logging

import pytest

from strategy_operator.alchemiscale import (
    AlchemiscaleClient,
    AlchemiscaleError,
    Credentials,
    InvalidCredentials,
    NetworkNotFound,
    NetworkSnapshotter,
    RequestRejected,
    ScopeNotPermitted,
    TransientError,
)

from .alchemiscale_helpers import ALICE_KEY, FAST_RETRY, OTHER_SCOPE, SCOPE


def _network(sandbox, systems: int = 4, scope: str = SCOPE, seed: int = 0) -> str:
    return sandbox.state.generate_network(shape="star", systems=systems, scope=scope, seed=seed)


async def test_structure_endpoints_agree_with_the_server(sandbox, client) -> None:
    network = _network(sandbox, systems=5)
    expected = set(sandbox.state.transformations(network))
    assert set(await client.network_transformations(network)) == expected
    assert len(await client.network_chemicalsystems(network)) == 5
    for transformation in expected:
        systems = await client.transformation_chemicalsystems(transformation)
        assert systems == sandbox.state.transformation_chemical_systems(transformation)
    assert await client.exists(network) is True
    assert await client.exists(network.replace("AlchemicalNetwork-", "AlchemicalNetwork-0")) is False


async def test_task_endpoints_round_trip(sandbox, client) -> None:
    network = _network(sandbox)
    transformation = sorted(sandbox.state.transformations(network))[0]
    tasks = await client.create_tasks([transformation, transformation])
    assert len(set(tasks)) == 2
    assert all(client.task_transformations[t] == transformation for t in tasks)
    assert set(await client.transformation_tasks(transformation)) == set(tasks)
    assert set(await client.network_tasks(network, "waiting")) == set(tasks)
    assert await client.network_tasks(network, "running") == []
    assert await client.task_transformation(tasks[0]) == transformation
    assert await client.tasks_status(tasks) == ["waiting", "waiting"]
    assert await client.networks_status([network]) == [{"waiting": 2}]

    assert await client.action_tasks(network, tasks) == tasks
    # Re-actioning answers null for an already-actioned task; that is not an error.
    assert await client.action_tasks(network, tasks) == [None, None]
    assert set(await client.network_actioned_tasks(network)) == set(tasks)
    assert await client.cancel_tasks(network, tasks[:1]) == tasks[:1]
    assert await client.cancel_tasks(network, tasks[:1]) == [None]
    assert await client.network_actioned_tasks(network) == tasks[1:]

    sandbox.state.claim_task(tasks[1])
    ref = sandbox.state.complete_task(tasks[1], ok=True)
    sandbox.state.claim_task(tasks[0])
    sandbox.state.complete_task(tasks[0], ok=False)
    assert await client.transformation_results(transformation) == [ref]
    assert await client.network_actioned_tasks(network) == []


async def test_creation_answer_is_aligned_with_mixed_transformation_types(sandbox, client) -> None:
    network = sandbox.state.load_network(
        {
            "name": "mixed",
            "scope": SCOPE,
            "systems": ["a", "b"],
            "transformations": [{"stateA": "a", "stateB": "b"}, {"system": "a"}],
        }
    )
    by_type = {t.split("-")[0]: t for t in sandbox.state.transformations(network)}
    wanted = [by_type["NonTransformation"], by_type["Transformation"], by_type["NonTransformation"]]
    tasks = await client.create_tasks(wanted)
    assert [await client.task_transformation(t) for t in tasks] == wanted
    assert [client.task_transformations[t] for t in tasks] == wanted


async def test_missing_network_is_reported_as_such(sandbox, client) -> None:
    _network(sandbox)
    missing = f"AlchemicalNetwork-{'0' * 32}-{SCOPE}"
    with pytest.raises(NetworkNotFound, match=missing):
        await NetworkSnapshotter(client, missing).observe()


async def test_scope_denial_is_typed_and_does_not_refresh_the_token(sandbox, client) -> None:
    network = _network(sandbox, scope=OTHER_SCOPE)
    await client.info()
    before = client.requests_sent
    with pytest.raises(ScopeNotPermitted, match="globex-mpro-run1"):
        await client.network_tasks(network)
    assert client.requests_sent == before + 1  # no token round trip, no retry


async def test_wrong_key_is_invalid_credentials(sandbox) -> None:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", "wrong"), retry=FAST_RETRY) as client:
        with pytest.raises(InvalidCredentials, match="alice"):
            await client.info()
        assert client.requests_sent == 1


async def test_unknown_identifier_is_transient_with_a_hint(sandbox) -> None:
    # alchemiscale 0.8.0 answers 500 for an unknown identifier, which cannot be told
    # apart from a server failure; the message says what to check.
    async with AlchemiscaleClient(sandbox.url, Credentials("mallory", "x"), retry=FAST_RETRY) as client:
        with pytest.raises(TransientError, match="unknown identifier"):
            await client.info()


async def test_token_is_fetched_once_for_concurrent_requests(sandbox, client) -> None:
    network = _network(sandbox)
    await asyncio.gather(*(client.network_tasks(network) for _ in range(20)))
    assert client.requests_sent == 21


async def test_token_is_renewed_before_it_expires() -> None:
    from strategy_operator_dev.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": (ALICE_KEY, [SCOPE])}, token_lifetime=2) as sb:
        async with AlchemiscaleClient(sb.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY) as client:
            await client.info()
            assert client.requests_sent == 2
            await asyncio.sleep(2.1)
            await client.info()
            # A new token first, then the call: no request is spent on a 401.
            assert client.requests_sent == 4


async def test_a_rejected_token_is_replaced_once(sandbox, client) -> None:
    await client.info()
    client._token = client._token[:-4] + "AAAA"  # as if the server's signing key changed
    await client.info()
    assert client.requests_sent == 2 + 3  # then: call (401), token, call


async def test_5xx_is_retried_then_succeeds(sandbox, client) -> None:
    await client.info()
    sandbox.faults.fail_next(2, status=503)
    assert await client.info() is not None
    assert client.requests_sent == 2 + 3  # two 503s, then the answer


async def test_outage_becomes_a_transient_error_after_bounded_attempts(sandbox, client) -> None:
    await client.info()
    sandbox.faults.outage(True)
    with pytest.raises(TransientError, match="after 3 attempt"):
        await client.info()
    assert client.requests_sent == 1 + 1 + FAST_RETRY.attempts
    sandbox.faults.outage(False)
    await client.info()


async def test_dropped_connections_are_retried_for_reads(sandbox, client) -> None:
    network = _network(sandbox)
    await client.info()
    sandbox.faults.drop_next(2)
    assert await client.network_tasks(network) == []


async def test_timeouts_are_transient(sandbox) -> None:
    async with AlchemiscaleClient(
        sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY, timeout=0.2
    ) as client:
        await client.info()
        sandbox.faults.delay_next(5, seconds=1.0)
        with pytest.raises(TransientError, match="Timeout"):
            await client.info()


async def test_unreachable_server_is_transient() -> None:
    async with AlchemiscaleClient("http://127.0.0.1:9", Credentials("alice", ALICE_KEY), retry=FAST_RETRY) as client:
        with pytest.raises(TransientError, match="unreachable") as caught:
            await client.info()
        assert "unknown identifier" not in str(caught.value)
        assert client.requests_sent == FAST_RETRY.attempts


async def test_404_means_a_wrong_path_and_is_not_retried(sandbox, client) -> None:
    await client.info()
    before = client.requests_sent
    with pytest.raises(RequestRejected, match="not served") as caught:
        await client.request("GET", "/networks/no/such/route/here")
    assert caught.value.status_code == 404
    assert client.requests_sent == before + 1


async def test_other_client_errors_are_not_retried(sandbox, client) -> None:
    network = _network(sandbox)
    before_token = client.requests_sent
    with pytest.raises(RequestRejected) as caught:
        await client.network_tasks(network, status="sleeping")
    assert caught.value.status_code == 400
    assert "sleeping" in str(caught.value)
    assert client.requests_sent == before_token + 2  # token + the one call


async def test_credentials_never_appear_in_errors_or_logs(sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    network = _network(sandbox, scope=OTHER_SCOPE)
    seen: list[str] = []
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY) as client:
        await client.info()
        token = client._token
        seen.append(repr(client))
        for call in (
            lambda: client.network_tasks(network),
            lambda: client.request("GET", "/nowhere"),
        ):
            with pytest.raises(Exception) as caught:
                await call()
            seen.append(str(caught.value))
            seen.append(repr(caught.value))
        sandbox.faults.outage(True)
        with pytest.raises(TransientError) as caught:
            await client.info()
        seen.append(str(caught.value))
        sandbox.faults.outage(False)
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY + "x"), retry=FAST_RETRY) as client:
        with pytest.raises(InvalidCredentials) as caught:
            await client.info()
        seen.append(str(caught.value))
    seen.extend(r.getMessage() for r in caplog.records)
    text = "\n".join(seen)
    assert ALICE_KEY not in text
    assert token not in text


async def test_a_server_that_is_not_alchemiscale_is_a_typed_error() -> None:
    # A URL pointing at some other web service answering 200 with HTML (or a JSON list).
    from aiohttp import web

    for body, content_type in (("<html>login page</html>", "text/html"), ("[1, 2]", "application/json")):

        async def answer(request: web.Request, body: str = body, content_type: str = content_type) -> web.Response:
            return web.Response(text=body, content_type=content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with AlchemiscaleClient(
                f"http://127.0.0.1:{port}", Credentials("alice", ALICE_KEY), retry=FAST_RETRY
            ) as client:
                with pytest.raises(AlchemiscaleError, match="POST /token") as caught:
                    await client.info()
            assert ALICE_KEY not in str(caught.value)
        finally:
            await runner.cleanup()


def test_a_url_with_user_info_is_refused_without_echoing_it() -> None:
    for url in ("ftp://alice:pw-Zq8f1@api.example.org", "https://alice:pw-Zq8f1@api.example.org"):
        with pytest.raises(ValueError) as caught:
            AlchemiscaleClient(url, Credentials("alice", ALICE_KEY))
        assert "pw-Zq8f1" not in str(caught.value)
