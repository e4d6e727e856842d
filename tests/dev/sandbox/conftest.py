"""Fixtures: a served sandbox with one identity and an authenticated httpx client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from strategy_operator_dev.sandbox.testing import RunningSandbox, running_sandbox

from .sandbox_helpers import login

SCOPE = "acme-tyk2-run1"


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    with running_sandbox(
        identities={
            "alice": ("alice-key", ["acme-tyk2-*"]),
            "bob": ("bob-key", ["acme-tyk2-run1"]),
            "root": ("root-key", ["*-*-*"]),
        }
    ) as sb:
        yield sb


@pytest.fixture()
def sb(served: RunningSandbox) -> Iterator[RunningSandbox]:
    served.faults.clear()
    served.requests.reset()
    yield served
    served.faults.clear()


@pytest.fixture()
def alice(sb: RunningSandbox) -> Iterator[httpx.Client]:
    client = login(sb, "alice")
    yield client
    client.close()


_seeds = iter(range(1000, 10**9))


@pytest.fixture()
def network(sb: RunningSandbox) -> str:
    """A fresh star network of 4 systems (3 transformations) in acme-tyk2-run1."""
    return sb.state.generate_network("star", systems=4, scope=SCOPE, seed=next(_seeds))


@pytest.fixture()
def fresh_seed() -> int:
    return next(_seeds)
