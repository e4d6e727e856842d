"""The e2e session: one real node (strategy_operator_dev.node), one sandbox inside its namespace.

`make test-e2e` runs only this directory (`make test` ignores it): it needs root, the Debian
packages of hack/install-node-packages.sh and the builds of hack/build-node.sh and
hack/build-images.sh, which the make target runs first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_helpers import OPERATOR_KEY

from strategy_operator_dev.node import HostSnapshot, Node
from strategy_operator_dev.node.launcher import NODE_ADDRESS
from strategy_operator_dev.sandbox.testing import ComputeSettings, RunningSandbox, running_sandbox


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def node() -> Iterator[Node]:
    """The running node. After it stops, the host must be exactly as before (a teardown error otherwise)."""
    started = time.monotonic()
    node = Node.start()
    print(
        f"\n# node up in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in node.timings.items()),
        file=sys.stderr,
    )
    before: HostSnapshot = node.host_before
    try:
        yield node
    finally:
        node.stop()
        changes = before.differences(HostSnapshot.take("/proc/self/ns/net"))
        assert not changes, f"the node left the host changed: {json.dumps(changes, indent=1)[:4000]}"


@pytest.fixture(scope="session")
def sandbox(node: Node) -> Iterator[RunningSandbox]:
    """alchemiscale's sandbox, listening on the node's address (inside the namespace) with simulated compute."""
    identities = {"operator": (OPERATOR_KEY, ["acme-*-*"])}
    with running_sandbox(
        identities=identities, compute=ComputeSettings(rate=20.0, duration=0.2, seed=1), host=NODE_ADDRESS
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def helm(node: Node) -> Callable[..., Any]:
    binary = str(node.binaries.helm)
    env = {
        **node.env(),
        "HELM_CACHE_HOME": str(node.workdir / "helm-cache"),
        "HELM_CONFIG_HOME": str(node.workdir / "helm-config"),
        "HELM_DATA_HOME": str(node.workdir / "helm-data"),
    }

    def run(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
        return result

    return run
