"""The client over loopback HTTP: endpoints, tokens, errors, retries.

Tests taking `backend` run against the sandbox and the real alchemiscale 0.8.0 server;
those taking `sandbox` need its fault injection or its clock.
"""

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


async def test_structure_endpoints_agree_with_the_server(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(4)
    assert set(await client.network_transformations(network.key)) == set(network.transformations)
    assert len(await client.network_chemicalsystems(network.key)) == 5
    for transformation in network.transformations:
        systems = await client.transformation_chemicalsystems(transformation)
        assert sorted(systems) == sorted(network.systems[transformation])
    assert await client.exists(network.key) is True
    assert await client.exists(network.key.replace("AlchemicalNetwork-", "AlchemicalNetwork-0")) is False


async def test_task_endpoints_round_trip(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(2, broken=1)
    good, broken = network.transformations
    tasks = await client.create_tasks([good, good, broken])
    assert len(set(tasks)) == 3
    assert [client.task_transformations[t] for t in tasks] == [good, good, broken]
    assert set(await client.transformation_tasks(good)) == set(tasks[:2])
    assert set(await client.network_tasks(network.key, "waiting")) == set(tasks)
    assert await client.network_tasks(network.key, "running") == []
    assert await client.task_transformation(tasks[2]) == broken
    assert await client.tasks_status(tasks) == ["waiting"] * 3
    assert await client.networks_status([network.key]) == [{"waiting": 3}]

    assert await client.action_tasks(network.key, tasks) == tasks
    # Re-actioning answers null for an already-actioned task; that is not an error.
    assert await client.action_tasks(network.key, tasks) == [None, None, None]
    assert set(await client.network_actioned_tasks(network.key)) == set(tasks)
    assert await client.cancel_tasks(network.key, tasks[:1]) == tasks[:1]
    assert await client.cancel_tasks(network.key, tasks[:1]) == [None]
    assert set(await client.network_actioned_tasks(network.key)) == set(tasks[1:])

    assert backend.compute(network.key) == 2  # the cancelled task is not claimable
    assert await client.tasks_status(tasks) == ["waiting", "complete", "error"]
    assert len(await client.transformation_results(good)) == 1
    assert await client.transformation_results(broken) == []  # failures are not results
    assert await client.networks_status([network.key]) == [{"waiting": 1, "complete": 1, "error": 1}]
    # A completed task leaves the TaskHub; a failed one stays actioned.
    assert await client.network_actioned_tasks(network.key) == [tasks[2]]


async def test_creation_answer_is_aligned_with_mixed_transformation_types(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(1, non_transformations=1)
    transformation, non_transformation = network.transformations
    assert non_transformation.startswith("NonTransformation-")
    wanted = [non_transformation, transformation, non_transformation]
    tasks = await client.create_tasks(wanted)
    assert [await client.task_transformation(t) for t in tasks] == wanted
    assert [client.task_transformations[t] for t in tasks] == wanted


async def test_missing_network_is_reported_as_such(backend, backend_client) -> None:
    backend.star(1)
    missing = f"AlchemicalNetwork-{'0' * 32}-{backend.scope}"
    with pytest.raises(NetworkNotFound, match=missing):
        await NetworkSnapshotter(backend_client, missing).observe()


async def test_scope_denial_is_typed_and_does_not_refresh_the_token(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(1, scope=backend.other_scope)
    await client.info()
    before = client.requests_sent
    with pytest.raises(ScopeNotPermitted, match=backend.other_scope):
        await client.network_tasks(network.key)
    assert client.requests_sent == before + 1  # no token round trip, no retry


async def test_wrong_key_is_invalid_credentials(backend) -> None:
    async with AlchemiscaleClient(backend.url, Credentials(backend.identifier, "wrong"), retry=FAST_RETRY) as client:
        with pytest.raises(InvalidCredentials, match=backend.identifier):
            await client.info()
        assert client.requests_sent == 1


async def test_unknown_identifier_is_transient_with_a_hint(backend) -> None:
    # alchemiscale 0.8.0 answers 500 for an unknown identifier, which cannot be told
    # apart from a server failure; the message says what to check.
    async with AlchemiscaleClient(backend.url, Credentials("mallory", "x"), retry=FAST_RETRY) as client:
        with pytest.raises(TransientError, match="unknown identifier"):
            await client.info()


async def test_token_is_fetched_once_for_concurrent_requests(backend, backend_client) -> None:
    network = backend.star(1)
    await asyncio.gather(*(backend_client.network_tasks(network.key) for _ in range(20)))
    assert backend_client.requests_sent == 21


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


async def test_a_rejected_token_is_replaced_once(backend, backend_client) -> None:
    client = backend_client
    await client.info()
    client.session._token = client.session._token[:-4] + "AAAA"  # as if the server's signing key changed
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


async def test_404_means_a_wrong_path_and_is_not_retried(backend, backend_client) -> None:
    client = backend_client
    await client.info()
    before = client.requests_sent
    with pytest.raises(RequestRejected, match="not served") as caught:
        await client.request("GET", "/networks/no/such/route/here")
    assert caught.value.status_code == 404
    assert client.requests_sent == before + 1


async def test_other_client_errors_are_not_retried(backend, backend_client) -> None:
    client = backend_client
    network = backend.star(1).key
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
        token = client.session._token
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
