"""The chart's RBAC is enough: the real operator, run as the chart's ServiceAccount.

The chart is installed into the real API server; the operator runs on the host with a
kubeconfig holding a token of the chart's ServiceAccount (`kubectl create token`) and the
environment of the chart's own Deployment, against a sandbox alchemiscale with simulated
compute. Two NetworkStrategies — one on the chart's default server and credentials Secret,
one naming its own server and Secret — must iterate to dormant and be deleted cleanly
(the operator removes its finalizer), all without a single forbidden request of ours.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from strategy_operator_dev.controlplane import ControlPlane
from strategy_operator_dev.procs import find_kubectl, free_port
from strategy_operator_dev.sandbox.testing import ComputeSettings, running_sandbox

from .chart_helpers import CHART, RELEASE, SERVICE_ACCOUNT, helm_run, helm_values_args, kubectl_any

OPERATOR_KEY = "operator-key-" + uuid.uuid4().hex
ALICE_KEY = "alice-key-" + uuid.uuid4().hex
# An HTTP 403, not the digits inside a port (":40383") or a timestamp's milliseconds (",403").
_HTTP_403 = re.compile(r"(?<![\d:,.])403(?!\d)")


def service_account_kubeconfig(plane: ControlPlane, namespace: str, path: Path) -> Path:
    token = kubectl_any(
        plane, "create", "token", SERVICE_ACCOUNT, f"--namespace={namespace}", "--duration=1h"
    ).stdout.strip()
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "operator",
                "clusters": [
                    {
                        "name": "local",
                        "cluster": {"server": plane.server_url, "certificate-authority": str(plane.ca_file)},
                    }
                ],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [{"name": "operator", "context": {"cluster": "local", "user": "operator"}}],
            }
        )
    )
    path.chmod(0o600)
    return path


def deployment_environment(plane: ControlPlane, namespace: str) -> dict[str, str]:
    """The operator container's environment exactly as the chart's Deployment declares it."""
    deployment = json.loads(
        kubectl_any(plane, "get", "deployment", SERVICE_ACCOUNT, f"--namespace={namespace}", "-o", "json").stdout
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["run"]
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace", item
            env[item["name"]] = namespace  # what the downward API would give the pod
    return env


def wait_for(predicate, timeout: float, what: str, diagnostics=lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{diagnostics()}")


@pytest.mark.e2e
def test_operator_with_the_charts_service_account_runs_strategies_end_to_end(
    helm: str, helm_env: dict[str, str], control_plane: ControlPlane, namespace: str, crd_installed: str, tmp_path: Path
) -> None:
    release_namespace = namespace
    watched = f"watched-{uuid.uuid4().hex[:6]}"
    kubectl_any(control_plane, "create", "namespace", watched)
    compute = ComputeSettings(rate=20.0, duration=0.2, seed=1)
    identities = {"operator": (OPERATOR_KEY, ["acme-tyk2-*"]), "alice": (ALICE_KEY, ["acme-tyk2-*"])}
    operator = None
    log_path = tmp_path / "operator.log"
    try:
        with running_sandbox(identities=identities, compute=compute) as sandbox:
            default_network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=1)
            own_network = sandbox.state.generate_network("path", systems=4, scope="acme-tyk2-run2", seed=2)
            values = {
                "operator": {
                    "watchNamespaces": [watched],
                    "minSleepInterval": 1,
                    "tick": 0.5,
                    "httpPort": free_port(),
                    "allowedScopes": ["acme-tyk2-*"],
                },
                "alchemiscale": {
                    "server": sandbox.url,
                    "credentials": {"create": True, "identifier": "operator", "key": OPERATOR_KEY},
                },
                "rbac": {"credentialsSecretNames": ["alice-credentials"]},
            }
            helm_run(
                helm,
                control_plane,
                "install",
                RELEASE,
                str(CHART),
                "--namespace",
                release_namespace,
                *helm_values_args(values),
                env=helm_env,
            )

            kubectl_any(
                control_plane,
                "apply",
                "-f",
                "-",
                input=json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {
                            "name": "alice-credentials",
                            "namespace": watched,
                            # Its owner binds it to the server the strategy names.
                            "annotations": {"alchemiscale.org/servers": sandbox.url},
                        },
                        "stringData": {"identifier": "alice", "key": ALICE_KEY},
                    }
                ),
            )
            kubeconfig = service_account_kubeconfig(control_plane, release_namespace, tmp_path / "sa-kubeconfig")
            env = {
                **os.environ,
                **deployment_environment(control_plane, release_namespace),
                "KUBECONFIG": str(kubeconfig),
            }
            with log_path.open("w") as log:
                operator = subprocess.Popen(
                    [sys.executable, "-m", "strategy_operator", "run"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

            strategies = [
                {
                    "apiVersion": "alchemiscale.org/v1alpha1",
                    "kind": "NetworkStrategy",
                    "metadata": {"name": "on-default-server", "namespace": watched},
                    "spec": {
                        "network": default_network,
                        "strategy": {"name": "ConnectivityStrategy"},
                        "maxTasksPerTransformation": 2,
                        "sleepInterval": 1,
                    },
                },
                {
                    "apiVersion": "alchemiscale.org/v1alpha1",
                    "kind": "NetworkStrategy",
                    "metadata": {"name": "on-own-server", "namespace": watched},
                    "spec": {
                        "network": own_network,
                        "strategy": {"name": "ConnectivityStrategy"},
                        "taskScaling": "linear",
                        "maxTasksPerTransformation": 2,
                        "sleepInterval": 1,
                        "server": {"url": sandbox.url, "credentialsSecret": "alice-credentials"},
                    },
                },
            ]
            # Applied as the cluster admin: the operator itself may never create them.
            kubectl_any(control_plane, "apply", "-f", "-", input=yaml.safe_dump_all(strategies))

            def statuses() -> dict[str, dict[str, Any]]:
                items = json.loads(
                    kubectl_any(
                        control_plane, "get", "networkstrategies", f"--namespace={watched}", "-o", "json"
                    ).stdout
                )["items"]
                return {i["metadata"]["name"]: i.get("status") or {} for i in items}

            def diagnostics() -> str:
                return f"statuses: {json.dumps(statuses(), indent=1)[:3000]}\noperator log:\n" + "\n".join(
                    log_path.read_text().splitlines()[-40:]
                )

            wait_for(
                lambda: all(s.get("status") == "dormant" for s in statuses().values()),
                180,
                "both strategies to go dormant",
                diagnostics,
            )
            final = statuses()
            for name, status in final.items():
                assert status["iterations"] >= 2, (name, status)
                assert status["lastIterationResultCount"] > 0, (name, status)
                assert not status.get("exception"), (name, status)
            for network in (default_network, own_network):
                assert sandbox.state.network_status(network).get("complete", 0) > 0

            # Deleting works only if the operator may patch its finalizer away.
            kubectl_any(control_plane, "delete", "networkstrategies", "--all", f"--namespace={watched}", "--wait=false")
            wait_for(lambda: not statuses(), 60, "the operator to release its finalizers", diagnostics)
            assert operator.poll() is None, diagnostics()
    finally:
        if operator is not None and operator.poll() is None:
            operator.send_signal(signal.SIGTERM)
            try:
                operator.wait(20)
            except subprocess.TimeoutExpired:
                operator.kill()
        subprocess.run(
            [
                helm,
                "--kubeconfig",
                str(control_plane.kubeconfig),
                "uninstall",
                RELEASE,
                "--namespace",
                release_namespace,
            ],
            capture_output=True,
            timeout=120,
            env=helm_env,
        )
        subprocess.run(
            [
                str(find_kubectl()),
                f"--kubeconfig={control_plane.kubeconfig}",
                "delete",
                "namespace",
                watched,
                "--wait=false",
            ],
            capture_output=True,
            timeout=60,
        )

    log = log_path.read_text()
    denials = [
        line
        for line in log.splitlines()
        if _HTTP_403.search(line) or "forbidden" in line.lower() or "permission" in line.lower()
    ]
    assert not denials, "the operator was denied something the chart should grant:\n" + "\n".join(denials)
    assert OPERATOR_KEY not in log and ALICE_KEY not in log, "credentials must never reach the logs"
