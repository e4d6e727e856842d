"""After a 500 the server closes the connection; the client must not lose a creation to it.

Found against the real alchemiscale 0.8.0 (gunicorn + uvicorn): a 500 is an unhandled
exception, answered and then followed by a close of the kept-alive connection, without a
`Connection: close` header. A client that sent its next request on the pooled connection
got "connection reset by peer", and a task creation sent there became `OutcomeUnknown`
although the server never received it (0 of 20 creations succeeded before the fix).
"""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, OutcomeUnknown, TransientError
from strategy_operator.alchemiscale.retry import NO_RETRY

from .alchemiscale_helpers import ALICE_KEY, SCOPE

CREATIONS = 100


def _unknown_task(scope: str) -> str:
    return f"Task-{uuid.uuid4().hex}-{scope}"


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed before answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def test_the_server_closes_the_connection_after_a_500_without_saying_so(backend) -> None:
    token = httpx.post(
        f"{backend.url}/token", data={"username": backend.identifier, "password": backend.key}, timeout=30
    ).json()["access_token"]
    host, port = backend.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"GET /tasks/{_unknown_task(backend.scope)}/status HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        head, body = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 500 ")
        assert body == b"Internal Server Error"
        assert b"connection: close" not in head.lower()  # no warning ...
        sock.settimeout(10)
        assert sock.recv(1) == b""  # ... and yet the server closes


async def test_creation_after_a_500_succeeds_every_time(backend) -> None:
    network = backend.star(1)
    transformation = network.transformations[0]
    async with AlchemiscaleClient(
        backend.url, Credentials(backend.identifier, backend.key), retry=NO_RETRY, timeout=30.0
    ) as client:
        created = []
        for _ in range(CREATIONS):
            with pytest.raises(TransientError, match="500"):
                await client.request("GET", f"/tasks/{_unknown_task(backend.scope)}/status")
            created += await client.create_tasks([transformation])  # never OutcomeUnknown here
        assert len(set(created)) == CREATIONS
        assert sorted(await client.transformation_tasks(transformation)) == sorted(created)


async def test_a_500_retires_the_connection_pool(backend) -> None:
    network = backend.star(1)
    transformation = network.transformations[0]
    async with AlchemiscaleClient(
        backend.url, Credentials(backend.identifier, backend.key), retry=NO_RETRY, timeout=30.0
    ) as client:
        await client.info()
        transport = client.session._http._transport
        retired = transport.pools_retired
        with pytest.raises(TransientError):
            await client.request("GET", f"/tasks/{_unknown_task(backend.scope)}/status")
        assert transport.pools_retired == retired + 1
        assert len(await client.create_tasks([transformation])) == 1


async def test_a_lost_creation_answer_is_still_outcome_unknown_and_not_repeated() -> None:
    # Only the sandbox can lose an answer after doing the work; the real server is not asked to.
    from strategy_operator_dev.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": (ALICE_KEY, ["acme-tyk2-*"])}) as sb:
        network = sb.state.generate_network(shape="star", systems=2, scope=SCOPE, seed=0)
        transformation = sb.state.transformations(network)[0]
        async with AlchemiscaleClient(sb.url, Credentials("alice", ALICE_KEY), retry=NO_RETRY) as client:
            await client.info()
            sb.faults.drop_next(1, path_prefix="/bulk/transformations/tasks/create", after_processing=True)
            before = sb.requests.count("POST", "/bulk/transformations/tasks/create")
            with pytest.raises(OutcomeUnknown):
                await client.create_tasks([transformation])
            assert sb.requests.count("POST", "/bulk/transformations/tasks/create") == before + 1
            assert len(sb.state.transformation_tasks(transformation)) == 1  # it did take effect
