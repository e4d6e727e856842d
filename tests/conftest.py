"""Shared fixtures: one real control plane per test session, a fresh namespace per test.

Only tests that ask for `control_plane` (directly or through `namespace`, `kubectl` or
`crd_installed`) start it, and those tests are marked `kubernetes` automatically, so
`pytest -m "not kubernetes"` never builds or starts anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from strategy_operator.controlplane import ControlPlane, find_kubectl

REPO_ROOT = Path(__file__).resolve().parents[1]
# The dev distribution (real-server stack); importable from the clone until `make venv` installs it.
if str(REPO_ROOT / "dev") not in sys.path:
    sys.path.append(str(REPO_ROOT / "dev"))
CRD_PATH = REPO_ROOT / "crds" / "networkstrategies.yaml"
CRD_NAME = "networkstrategies.alchemiscale.org"

_CONTROL_PLANE_FIXTURES = {"control_plane", "namespace", "kubectl", "crd_installed"}

Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--realserver", action="store_true", default=False,
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
    binary = str(find_kubectl())

    def kubectl(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [binary, f"--kubeconfig={plane.kubeconfig}"]
        if namespace is not None:
            argv.append(f"--namespace={namespace}")
        argv.extend(args)
        result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed with exit code {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result

    return kubectl


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
