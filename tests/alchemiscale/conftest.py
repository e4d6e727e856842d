"""Fixtures for the alchemiscale client tests: the sandbox's identity and a logged-in client,
and `backend`/`backend_client`, which run a contract test against the sandbox and against the
real alchemiscale 0.8.0 server (see backends.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials

from .alchemiscale_helpers import ALICE_KEY, FAST_RETRY
from .backends import RealBackend, SandboxBackend


@pytest.fixture
def sandbox_identities() -> dict[str, tuple[str, list[str]]]:
    return {"alice": (ALICE_KEY, ["acme-tyk2-*"])}


@pytest.fixture
async def client(sandbox) -> AsyncIterator[AlchemiscaleClient]:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY, timeout=5.0) as c:
        yield c


@pytest.fixture(params=["sandbox", pytest.param("real", marks=pytest.mark.realserver)])
def backend(request: pytest.FixtureRequest) -> Iterator[SandboxBackend | RealBackend]:
    if request.param == "real":
        yield RealBackend(request.getfixturevalue("real_alchemiscale"))
    else:
        yield SandboxBackend(request.getfixturevalue("sandbox"))


@pytest.fixture
async def backend_client(backend) -> AsyncIterator[AlchemiscaleClient]:
    async with AlchemiscaleClient(
        backend.url, Credentials(backend.identifier, backend.key), retry=FAST_RETRY, timeout=30.0
    ) as client:
        yield client
