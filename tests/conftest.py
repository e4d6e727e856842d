"""Shared fixtures: one real control plane per test session, a fresh namespace per test,
and the one `sandbox` fixture (its identities come from `sandbox_identities`, which a folder's
conftest.py may override).

Only tests that ask for `control_plane` (directly or through `namespace`, `kubectl` or
`crd_installed`) start it, and those tests are marked `kubernetes` automatically, so
`pytest -m "not kubernetes"` never builds or starts anything.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from strategy_operator_dev.controlplane import ControlPlane
from strategy_operator_dev.procs import Kubectl as KubectlRunner
from strategy_operator_dev.repo import repo_root
from strategy_operator_dev.sandbox.testing import RunningSandbox, running_sandbox

REPO_ROOT = repo_root(Path(__file__).parent)
CRD_PATH = REPO_ROOT / "crds" / "networkstrategies.yaml"
CRD_NAME = "networkstrategies.alchemiscale.org"

_CONTROL_PLANE_FIXTURES = {"control_plane", "namespace", "kubectl", "crd_installed"}

Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--realserver",
        action="store_true",
        default=False,
        help="also run the tests against the real alchemiscale 0.8.0 server (marker `realserver`; "
        "`make test-alchemiscale`); without it they are deselected",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if _CONTROL_PLANE_FIXTURES.intersection(fixtures):
            item.add_marker(pytest.mark.kubernetes)
        if "real_alchemiscale" in fixtures:
            item.add_marker(pytest.mark.realserver)
    if not config.getoption("--realserver"):
        # Deselected, not skipped: the real server is a separate suite with its own target.
        kept = [item for item in items if item.get_closest_marker("realserver") is None]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept


@pytest.fixture(scope="session")
def real_alchemiscale() -> Iterator[object]:
    """The session's real alchemiscale 0.8.0 stack (Neo4j, S3, user and compute APIs) on loopback.

    Built and cached on first use (see `strategy_operator_dev.realserver.build`); a stack that
    will not start fails the tests that need it. `REALSERVER_ATTACH=<workdir>` uses the stack a
    running `python -m strategy_operator_dev.realserver up` started instead.
    """
    from strategy_operator_dev.realserver.stack import RealAlchemiscale

    attach = os.environ.get("REALSERVER_ATTACH")
    if attach:
        yield RealAlchemiscale.attach(Path(attach))
        return
    with RealAlchemiscale.start(lifetime=2 * 3600) as stack:
        yield stack


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """The session's kube-apiserver; `KUBECONFIG` points at it for every subprocess."""
    previous = os.environ.get("KUBECONFIG")
    with ControlPlane.start() as plane:
        os.environ["KUBECONFIG"] = str(plane.kubeconfig)
        try:
            yield plane
        finally:
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous


def _make_kubectl(plane: ControlPlane, namespace: str | None) -> Kubectl:
    return KubectlRunner(plane.kubeconfig, namespace, error=AssertionError)


@pytest.fixture(scope="session")
def _session_kubectl(control_plane: ControlPlane) -> Kubectl:
    return _make_kubectl(control_plane, None)


@pytest.fixture
def namespace(control_plane: ControlPlane, _session_kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for this test.

    Deleted afterwards without waiting: with no kube-controller-manager the namespace
    stays Terminating forever, so names are unique rather than reused.
    """
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem or 't'}-{uuid.uuid4().hex[:6]}"
    _session_kubectl("create", "namespace", name)
    yield name
    _session_kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kubectl(control_plane: ControlPlane, namespace: str) -> Kubectl:
    """Run the real kubectl against the session plane in this test's namespace.

    `kubectl(*args, input=None, check=True)` returns a CompletedProcess with text output;
    with `check=True` a non-zero exit fails the test with kubectl's stderr.
    """
    return _make_kubectl(control_plane, namespace)


@pytest.fixture(scope="session")
def crd_installed(_session_kubectl: Kubectl) -> str:
    """Apply the committed NetworkStrategy CRD once per session and wait until Established."""
    if not CRD_PATH.is_file():
        pytest.fail(f"{CRD_PATH.relative_to(REPO_ROOT)} is missing; render it with `make crd`")
    _session_kubectl("apply", "--server-side", "-f", str(CRD_PATH))
    _session_kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
    return CRD_NAME


@pytest.fixture
def sandbox_identities() -> dict[str, tuple[str, list[str]]]:
    """identifier -> (key, scopes) for the `sandbox` fixture; folders override it."""
    return {"alice": ("alice-key", ["acme-tyk2-*"])}


@pytest.fixture
def sandbox(sandbox_identities: dict[str, tuple[str, list[str]]]) -> Iterator[RunningSandbox]:
    """An alchemiscale-compatible sandbox served over loopback HTTP for one test."""
    with running_sandbox(identities=sandbox_identities) as served:
        yield served
