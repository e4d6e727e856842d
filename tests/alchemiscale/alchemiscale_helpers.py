"""Constants, fixtures and small helpers shared by the alchemiscale client tests.

The fixtures live here rather than in a conftest.py, and test modules import them, so this
folder adds no second top-level `conftest` module to the test session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, RetryPolicy

ALICE_KEY = "alice-key-Zq8f1xT0-never-log-me"
SCOPE = "acme-tyk2-run1"
OTHER_SCOPE = "globex-mpro-run1"  # not covered by alice's acme-tyk2-*
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, jitter=0.5)


class FakePlan:
    """Anything with `action`, `create`, `cancel` is a plan to `execute_plan`."""

    def __init__(self, action=(), create=None, cancel=()) -> None:
        self.action = list(action)
        self.create = dict(create or {})
        self.cancel = list(cancel)


@pytest.fixture
def sandbox() -> Iterator[object]:
    """Engineer C's alchemiscale sandbox, served over loopback HTTP for one test."""
    from strategy_operator.sandbox.testing import running_sandbox

    with running_sandbox(identities={"alice": (ALICE_KEY, ["acme-tyk2-*"])}) as sb:
        yield sb


@pytest.fixture
async def client(sandbox) -> AsyncIterator[AlchemiscaleClient]:
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=FAST_RETRY, timeout=5.0) as c:
        yield c
