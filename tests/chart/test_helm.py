"""The Helm chart, linted, rendered and installed by the real helm into the real API server.

Nothing runs the operator's pod (no kubelet here), so the install proves the API server
accepts every rendered object, RBAC included, and that helm can record the release.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from strategy_operator_dev.controlplane import ControlPlane, find_binaries
from strategy_operator_dev.repo import repo_root

REPO_ROOT = repo_root()
CHART = REPO_ROOT / "charts" / "alchemiscale-strategy-operator"

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.skipif(
        not (CHART / "Chart.yaml").is_file(), reason=f"{CHART.relative_to(REPO_ROOT)} does not exist yet"
    ),
]


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> HelmRunner:
    binaries = find_binaries()
    assert binaries.helm is not None, "the control plane build installs helm; rerun `make controlplane`"
    home = tmp_path_factory.mktemp("helm-home")
    return HelmRunner(binaries.helm, home)


class HelmRunner:
    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        # Keep helm's cache/config/data out of the user's home directory.
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(
        self, *args: str, check: bool = True, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if kubeconfig is not None:
            env["KUBECONFIG"] = str(kubeconfig)
        result = subprocess.run([str(self.binary), *args], capture_output=True, text=True, env=env, timeout=180)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
        return result


def test_helm_is_version_4(helm):
    assert helm("version", "--short").stdout.startswith("v4.")


def test_helm_lint_passes(helm):
    result = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in result.stdout


def test_helm_template_renders_the_operator(helm):
    rendered = helm("template", "aso", str(CHART), "--namespace", "ops", "--include-crds").stdout
    kinds = {doc["kind"] for doc in yaml.safe_load_all(rendered) if doc}
    assert {"Deployment", "ServiceAccount", "CustomResourceDefinition"} <= kinds
    assert kinds & {"ClusterRole", "Role"}


def test_helm_install_is_accepted_by_the_api_server(
    helm, control_plane: ControlPlane, crd_installed, kubectl, namespace
):
    release = f"aso-{namespace[-6:]}"
    helm("install", release, str(CHART), "--namespace", namespace, kubeconfig=control_plane.kubeconfig)
    try:
        status = json.loads(
            helm("status", release, "--namespace", namespace, "-o", "json", kubeconfig=control_plane.kubeconfig).stdout
        )
        assert status["info"]["status"] == "deployed"
        deployments = json.loads(kubectl("get", "deployments", "-o", "json").stdout)["items"]
        assert [d["metadata"]["labels"].get("app.kubernetes.io/instance") for d in deployments] == [release]
        # Helm keeps the release in a Secret of the release namespace.
        assert kubectl("get", "secrets", "-l", f"owner=helm,name={release}", "-o", "name").stdout.strip()
    finally:
        helm("uninstall", release, "--namespace", namespace, check=False, kubeconfig=control_plane.kubeconfig)
