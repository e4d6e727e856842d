"""Fixtures for the alchemiscale client tests: the sandbox's identity and a logged-in client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials

from .alchemiscale_helpers import ALICE_KEY, FAST_RETRY


@pytest.fixture
def sandbox_identities() -> dict[str, tuple[str, list[str]]]:
    return {"alice": (ALICE_KEY, ["acme-tyk2-*"])}


@pytest.fixture
async def client(sandbox) -> AsyncIterator[AlchemiscaleClient]:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY, timeout=5.0) as c:
        yield c
