"""`helm install` / `helm uninstall` on the real control plane, and what the chart's
ServiceAccount may and may not do, asked of the API server's own RBAC authorizer.

No `--wait`: with no kubelet and no controller-manager the pod never starts; the objects,
the CRD and the RBAC decisions are real.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import yaml

from strategy_operator_dev.controlplane import ControlPlane
from strategy_operator_dev.procs import find_kubectl

from .chart_helpers import CHART, RELEASE, SERVICE_ACCOUNT, helm_run, kubectl_any


def new_namespace(plane: ControlPlane, stem: str) -> str:
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    kubectl_any(plane, "create", "namespace", name)
    return name


def can_i(
    plane: ControlPlane, release_namespace: str, verb: str, resource: str, namespace: str | None, *extra: str
) -> bool:
    where = [f"--namespace={namespace}"] if namespace else ["--all-namespaces"]
    result = kubectl_any(
        plane,
        "auth",
        "can-i",
        verb,
        resource,
        *where,
        *extra,
        f"--as=system:serviceaccount:{release_namespace}:{SERVICE_ACCOUNT}",
        check=False,
    )
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


@pytest.fixture
def installed(helm: str, helm_env: dict[str, str], control_plane: ControlPlane, namespace: str, crd_installed: str):
    """Install the chart watching one namespace, with chart-created default credentials."""
    watched = new_namespace(control_plane, "watched")
    values = {
        "operator": {"watchNamespaces": [watched]},
        "alchemiscale": {
            "server": "https://alchemiscale.example.org",
            "credentials": {"create": True, "identifier": "operator", "key": "k3y"},
        },
    }
    args = [a for key, value in values.items() for a in ("--set-json", f"{key}={json.dumps(value)}")]
    helm_run(helm, control_plane, "install", RELEASE, str(CHART), "--namespace", namespace, *args, env=helm_env)
    yield namespace, watched
    subprocess.run(
        [helm, "--kubeconfig", str(control_plane.kubeconfig), "uninstall", RELEASE, "--namespace", namespace],
        capture_output=True,
        timeout=120,
        env=helm_env,
    )
    kubectl_any(control_plane, "delete", "namespace", watched, "--wait=false", check=False)


def test_install_and_uninstall_cluster_wide(
    helm: str, helm_env: dict[str, str], control_plane: ControlPlane, namespace: str, crd_installed: str
) -> None:
    helm_run(helm, control_plane, "install", RELEASE, str(CHART), "--namespace", namespace, env=helm_env)
    status = json.loads(
        helm_run(helm, control_plane, "status", RELEASE, "--namespace", namespace, "-o", "json", env=helm_env).stdout
    )
    assert status["info"]["status"] == "deployed"
    manifest = helm_run(helm, control_plane, "get", "manifest", RELEASE, "--namespace", namespace, env=helm_env).stdout
    (cluster_role,) = [d["metadata"]["name"] for d in yaml.safe_load_all(manifest) if d and d["kind"] == "ClusterRole"]
    assert namespace in cluster_role or len(f"{namespace}-{SERVICE_ACCOUNT}") > 63
    kubectl_any(control_plane, "get", "clusterrole", cluster_role)
    kubectl_any(control_plane, "get", "clusterrolebinding", cluster_role)
    for kind, name in (
        ("deployment", SERVICE_ACCOUNT),
        ("serviceaccount", SERVICE_ACCOUNT),
        ("service", f"{SERVICE_ACCOUNT}-metrics"),
    ):
        kubectl_any(control_plane, "get", kind, name, f"--namespace={namespace}")
    kubectl_any(control_plane, "get", "crd", "networkstrategies.alchemiscale.org")
    assert can_i(control_plane, namespace, "watch", "networkstrategies.alchemiscale.org", None)

    helm_run(helm, control_plane, "uninstall", RELEASE, "--namespace", namespace, env=helm_env)
    assert kubectl_any(control_plane, "get", "clusterrole", cluster_role, check=False).returncode != 0
    assert (
        kubectl_any(
            control_plane, "get", "deployment", SERVICE_ACCOUNT, f"--namespace={namespace}", check=False
        ).returncode
        != 0
    )
    # Helm never deletes CRDs from crds/: existing NetworkStrategies survive an uninstall.
    kubectl_any(control_plane, "get", "crd", "networkstrategies.alchemiscale.org")


def test_namespaced_install_grants_what_the_operator_uses(control_plane: ControlPlane, installed) -> None:
    release_namespace, watched = installed
    allowed = [
        ("list", "networkstrategies.alchemiscale.org", watched),
        ("watch", "networkstrategies.alchemiscale.org", watched),
        ("patch", "networkstrategies.alchemiscale.org", watched),
        ("get", "networkstrategies.alchemiscale.org", watched),
        ("create", "events", watched),
        ("get", "secrets", watched),
        ("get", "secrets/aso-alchemiscale-strategy-operator-credentials", release_namespace),
    ]
    for verb, resource, where in allowed:
        assert can_i(control_plane, release_namespace, verb, resource, where), (verb, resource, where)
    assert can_i(
        control_plane, release_namespace, "patch", "networkstrategies.alchemiscale.org", watched, "--subresource=status"
    )


def test_namespaced_install_denies_everything_else(control_plane: ControlPlane, installed) -> None:
    release_namespace, watched = installed
    elsewhere = "default"
    denied = [
        # Secrets: read by name only, never enumerated, never outside the watched namespaces.
        ("list", "secrets", watched),
        ("watch", "secrets", watched),
        ("get", "secrets", elsewhere),
        ("get", "secrets", release_namespace),
        ("get", "secrets/some-other-secret", release_namespace),
        ("list", "secrets", None),
        # NetworkStrategies: never created, replaced or deleted; never outside the watched namespaces.
        ("create", "networkstrategies.alchemiscale.org", watched),
        ("update", "networkstrategies.alchemiscale.org", watched),
        ("delete", "networkstrategies.alchemiscale.org", watched),
        ("list", "networkstrategies.alchemiscale.org", elsewhere),
        ("list", "networkstrategies.alchemiscale.org", None),
        # Nothing it has no business with.
        ("get", "pods", watched),
        ("list", "configmaps", watched),
        ("create", "pods", release_namespace),
        ("list", "namespaces", None),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("create", "rolebindings.rbac.authorization.k8s.io", watched),
        ("list", "events", watched),
    ]
    for verb, resource, where in denied:
        assert not can_i(control_plane, release_namespace, verb, resource, where), (verb, resource, where)
    assert not can_i(
        control_plane,
        release_namespace,
        "patch",
        "networkstrategies.alchemiscale.org",
        elsewhere,
        "--subresource=status",
    )
    rules = kubectl_any(control_plane, "get", "clusterrolebindings", "-o", "json").stdout
    assert f'"namespace": "{release_namespace}"' not in rules, "a namespaced install binds nothing cluster-wide"


def test_operator_pod_is_admitted_under_pod_security_restricted(
    render, control_plane: ControlPlane, namespace: str
) -> None:
    """The API server's PodSecurity admission, enforcing `restricted`, accepts the chart's pod."""
    kubectl_any(
        control_plane,
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    deployment = next(o for o in render(namespace=namespace) if o["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator-pod", "namespace": namespace, "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }
    created = kubectl_any(control_plane, "create", "-f", "-", input=json.dumps(pod))
    assert "Warning" not in created.stderr, created.stderr

    # The control: the same pod allowed to escalate privileges is refused, so enforcement is on.
    escalating = json.loads(json.dumps(pod))
    escalating["metadata"]["name"] = "escalating-pod"
    escalating["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = subprocess.run(
        [str(find_kubectl()), f"--kubeconfig={control_plane.kubeconfig}", "create", "-f", "-"],
        input=json.dumps(escalating),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr


def test_upgrade_from_cluster_wide_to_namespaced_removes_the_cluster_grant(
    helm: str, helm_env: dict[str, str], control_plane: ControlPlane, namespace: str, crd_installed: str
) -> None:
    helm_run(helm, control_plane, "install", RELEASE, str(CHART), "--namespace", namespace, env=helm_env)
    try:
        assert can_i(control_plane, namespace, "list", "networkstrategies.alchemiscale.org", "default")
        watched = new_namespace(control_plane, "upgraded")
        helm_run(
            helm,
            control_plane,
            "upgrade",
            RELEASE,
            str(CHART),
            "--namespace",
            namespace,
            "--reuse-values",
            "--set-json",
            f'operator.watchNamespaces=["{watched}"]',
            env=helm_env,
        )
        assert can_i(control_plane, namespace, "list", "networkstrategies.alchemiscale.org", watched)
        assert not can_i(control_plane, namespace, "list", "networkstrategies.alchemiscale.org", "default")
        manifest = helm_run(
            helm, control_plane, "get", "manifest", RELEASE, "--namespace", namespace, env=helm_env
        ).stdout
        assert "kind: ClusterRole" not in manifest
    finally:
        helm_run(helm, control_plane, "uninstall", RELEASE, "--namespace", namespace, env=helm_env)
