"""Fixtures for the operator against the real alchemiscale 0.8.0 server: the namespace's cluster
and `strategy-operator run` pointed at the session's real stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..controller.operator_harness import Cluster, OperatorProcess


@pytest.fixture
def cluster(kubectl, crd_installed, real_alchemiscale) -> Cluster:
    # The test owns the credentials Secrets, so it binds them to the real user API.
    return Cluster(kubectl, servers=(real_alchemiscale.user_api_url,))


@pytest.fixture
def start_operator(
    namespace: str, cluster: Cluster, tmp_path: Path, real_alchemiscale
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `strategy-operator run` for this namespace with the real user API as default server."""
    started: list[OperatorProcess] = []

    def start(*extra: str) -> OperatorProcess:
        process = OperatorProcess(
            namespace,
            tmp_path / f"operator-{len(started)}.log",
            [*extra, "--default-server", real_alchemiscale.user_api_url],
        )
        started.append(process)
        return process.start()

    yield start
    if any(p.process is not None and p.process.poll() is None for p in started):
        cluster.delete_all()
    cluster.strip_finalizers()
    for process in started:
        process.stop()
