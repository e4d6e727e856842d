"""Fixtures: engineer C's sandbox served over loopback HTTP, and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from alchemiscale_helpers import ALICE_KEY, FAST_RETRY

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials


@pytest.fixture
def sandbox() -> Iterator[object]:
    from strategy_operator.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": (ALICE_KEY, ["acme-tyk2-*"])}) as sb:
        yield sb


@pytest.fixture
async def client(sandbox) -> AsyncIterator[AlchemiscaleClient]:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY, timeout=5.0) as c:
        yield c
