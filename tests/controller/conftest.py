"""Fixtures for the controller tests: the sandbox's identity, the namespace's cluster, the operator process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .operator_harness import IDENTITY, KEY, SCOPE, Cluster, OperatorProcess


@pytest.fixture
def sandbox_identities() -> dict[str, tuple[str, list[str]]]:
    return {IDENTITY: (KEY, [SCOPE])}


@pytest.fixture
def cluster(kubectl, crd_installed, sandbox) -> Cluster:
    return Cluster(kubectl, servers=(sandbox.url,))


@pytest.fixture
def start_operator(
    namespace: str, cluster: Cluster, tmp_path: Path, sandbox
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `strategy-operator run` for this namespace; teardown deletes the CRs first (finalizers)."""
    started: list[OperatorProcess] = []

    def start(
        *extra: str, default_server: bool = False, allowed_servers: tuple[str, ...] | None = None
    ) -> OperatorProcess:
        args = list(extra)
        if default_server:
            args += ["--default-server", sandbox.url]
        args += ["--allowed-servers", ",".join(allowed_servers or (sandbox.url,))]
        process = OperatorProcess(namespace, tmp_path / f"operator-{len(started)}.log", args)
        started.append(process)
        return process.start()

    yield start
    running = [p for p in started if p.process is not None and p.process.poll() is None]
    if running:
        cluster.delete_all()
    cluster.strip_finalizers()
    for process in started:
        process.stop()
