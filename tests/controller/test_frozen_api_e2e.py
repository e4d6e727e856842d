"""A frozen Kubernetes API server (its own kube-apiserver, SIGSTOPped): no pass hangs on it,
`/healthz` fails once resources are due and no pass can record anything, and it all recovers
when the API server is resumed."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from strategy_operator_dev.controlplane import ControlPlane
from strategy_operator_dev.procs import Kubectl

from .operator_harness import IDENTITY, KEY, OperatorProcess, network_strategy, wait_for

pytestmark = pytest.mark.kubernetes

GRACE = 5.0


def test_a_frozen_api_server_fails_health_and_nothing_hangs(sandbox, tmp_path):
    from tests.conftest import CRD_NAME, CRD_PATH

    with ControlPlane.start() as plane:
        kubectl = Kubectl(plane.kubeconfig, "frozen", error=AssertionError)
        kubectl("create", "namespace", "frozen")
        kubectl("apply", "--server-side", "-f", str(CRD_PATH))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
        kubectl(
            "create",
            "secret",
            "generic",
            "alchemiscale-creds",
            f"--from-literal=identifier={IDENTITY}",
            f"--from-literal=key={KEY}",
        )
        kubectl("annotate", "secret", "alchemiscale-creds", f"alchemiscale.org/servers={sandbox.url}")
        network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=70)
        operator = OperatorProcess(
            "frozen",
            tmp_path / "operator.log",
            ["--default-server", sandbox.url, "--liveness-grace", str(GRACE)],
            env={"KUBECONFIG": str(plane.kubeconfig)},
        ).start()
        try:
            kubectl("apply", "-f", "-", input=network_strategy("cold", network, sleepInterval=1))

            def iterations() -> int:
                result = kubectl("get", "networkstrategy", "cold", "-o", "json", check=False)
                return (
                    (json.loads(result.stdout).get("status") or {}).get("iterations", 0)
                    if result.returncode == 0
                    else 0
                )

            wait_for(lambda: iterations() >= 2, timeout=60, what="iterations before the freeze")
            assert operator.get("/healthz")[0] == 200

            apiserver = plane.pid_of("kube-apiserver")
            os.kill(apiserver, signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                # A Secret read or status write gives up after 25 s at most; then the grace.
                code, body = wait_for(
                    lambda: (r := operator.get("/healthz"))[0] == 503 and r, timeout=90, what="/healthz to fail"
                )
                failed_after = time.monotonic() - frozen
                # Overdue resources (no pass finishes) or the API's silence, whichever the grace reaches first.
                answer = json.loads(body)
                assert answer["status"] == "stalled" and ("overdue" in answer or "kubernetesApi" in answer), answer
                assert operator.alive()
                # No pass hangs on the frozen server: the Secret read gives up within its bound.
                wait_for(
                    lambda: "did not answer within" in operator.log(), timeout=60, what="a Kubernetes call to give up"
                )
                gave_up_after = time.monotonic() - frozen
                assert gave_up_after < 45
            finally:
                os.kill(apiserver, signal.SIGCONT)
            thawed = time.monotonic()
            before = iterations()
            wait_for(lambda: operator.get("/healthz")[0] == 200, timeout=90, what="/healthz to recover")
            wait_for(lambda: iterations() > before, timeout=90, what="iterations after the thaw")
            recovered_after = time.monotonic() - thawed
            assert operator.alive()
        finally:
            kubectl("delete", "networkstrategies", "--all", "--wait=true", "--timeout=60s", check=False)
            operator.stop()
    print(
        f"\n/healthz failed {failed_after:.0f} s after the freeze (grace {GRACE:g} s); the first Kubernetes "
        f"call gave up after {gave_up_after:.0f} s; iterating again {recovered_after:.0f} s after the thaw"
    )
