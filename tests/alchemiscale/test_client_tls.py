"""TLS: verification on by default, a CA bundle option, and an explicit opt-out.

The sandbox serves plain HTTP, so this test serves a minimal stand-in over TLS with a
throw-away CA; only `/token` and `/info` are needed to see the handshake outcome.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, TransientError

from .alchemiscale_helpers import ALICE_KEY, FAST_RETRY

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"


def _certificates(directory) -> tuple[str, str, str]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tuple(str(p) for p in paths)  # type: ignore[return-value]


async def _app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = (
        f'{{"access_token": "{TOKEN}", "token_type": "bearer"}}'
        if scope["path"] == "/token"
        else '{"message": "nothing yet"}'
    )
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[str, str]]:
    ca, cert, key = _certificates(tmp_path)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_app, ssl_certfile=cert, ssl_keyfile=key, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"https://127.0.0.1:{port}", ca
    server.should_exit = True
    thread.join(10)
    listener.close()


async def test_verification_is_on_by_default(tls_server) -> None:
    url, _ = tls_server
    async with AlchemiscaleClient(url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY) as client:
        with pytest.raises(TransientError, match="certificate verification failed"):
            await client.info()


async def test_a_ca_bundle_makes_the_server_trusted(tls_server) -> None:
    url, ca = tls_server
    async with AlchemiscaleClient(url, Credentials("alice", ALICE_KEY), verify=ca, retry=FAST_RETRY) as client:
        assert await client.info() == {"message": "nothing yet"}


async def test_verification_can_be_switched_off(tls_server) -> None:
    url, _ = tls_server
    async with AlchemiscaleClient(url, Credentials("alice", ALICE_KEY), verify=False, retry=FAST_RETRY) as client:
        assert await client.info() == {"message": "nothing yet"}


def test_an_unreadable_ca_bundle_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="CA bundle"):
        AlchemiscaleClient("https://127.0.0.1:1", Credentials("alice", ALICE_KEY), verify=str(tmp_path / "missing.pem"))
