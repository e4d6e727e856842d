"""The Helm chart's Deployment on a real node: the image built from the Dockerfile, run by a kubelet.

The scenarios build on each other in file order (one release through its whole life):
install with stock values, configure a server, run an example strategy to dormant, lose the
pod, freeze the operator, upgrade a value, uninstall in the documented order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import yaml
from e2e_helpers import CHART, OPERATOR_KEY, REPO_ROOT, wait_for

RELEASE = "aso"
NAMESPACE = "alchemiscale-operator"
DEPLOYMENT = "aso-alchemiscale-strategy-operator"
STRATEGIES_NS = "default"
SELECTOR = "app.kubernetes.io/instance=aso"


def image_values(node) -> list[str]:
    repository, tag = node.images["project"].reference.rsplit(":", 1)
    return ["--set", f"image.repository={repository}", "--set", f"image.tag={tag}"]


def deployment(node) -> dict[str, Any]:
    return json.loads(node.kubectl("-n", NAMESPACE, "get", "deployment", DEPLOYMENT, "-o", "json").stdout)


def pods(node) -> list[dict[str, Any]]:
    return json.loads(node.kubectl("-n", NAMESPACE, "get", "pods", "-l", SELECTOR, "-o", "json").stdout)["items"]


def running_pod(node) -> dict[str, Any] | None:
    """The one Ready, not terminating operator pod, if there is exactly one."""
    ready = [
        p
        for p in pods(node)
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    ]
    return ready[0] if len(ready) == 1 else None


def available(node) -> bool:
    conditions = deployment(node)["status"].get("conditions", [])
    return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)


def diagnostics(node) -> str:
    parts = [
        node.kubectl("-n", NAMESPACE, "get", "pods", "-o", "wide", check=False).stdout,
        node.kubectl("-n", NAMESPACE, "describe", "pods", check=False).stdout[-3000:],
        node.kubectl("-n", NAMESPACE, "logs", f"deployment/{DEPLOYMENT}", "--tail=40", check=False).stdout,
    ]
    for name, path in node.logs().items():
        if name in ("kubelet", "containerd"):
            parts.append(
                f"--- {name} log tail\n" + "\n".join(Path(path).read_text(errors="replace").splitlines()[-15:])
            )
    return "\n".join(parts)


def strategy_status(node, name: str) -> dict[str, Any]:
    item = json.loads(node.kubectl("-n", STRATEGIES_NS, "get", "networkstrategy", name, "-o", "json").stdout)
    return item.get("status") or {}


def exec_in_operator(node, *command: str) -> str:
    return node.kubectl("-n", NAMESPACE, "exec", f"deployment/{DEPLOYMENT}", "--", *command).stdout


def timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_helm_install_with_stock_values_gives_a_hardened_available_deployment(node, helm) -> None:
    started = time.monotonic()
    helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace", *image_values(node))
    wait_for(lambda: available(node), 120, "an Available Deployment", lambda: diagnostics(node))
    print(f"\n# helm install -> Available in {time.monotonic() - started:.1f}s")

    # PID 1 of the container is the operator itself.
    status = dict(
        line.split(":\t", 1) for line in exec_in_operator(node, "cat", "/proc/1/status").splitlines() if ":\t" in line
    )
    assert status["Uid"].split() == ["10001"] * 4 and status["Gid"].split() == ["10001"] * 4, status
    for capability_set in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[capability_set], 16) == 0, (capability_set, status[capability_set])
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2", "RuntimeDefault is a seccomp filter (mode 2)"
    root = next(
        line.split()
        for line in exec_in_operator(node, "cat", "/proc/1/mountinfo").splitlines()
        if line.split()[4] == "/"
    )
    assert "ro" in root[5].split(","), root
    denied = node.kubectl("-n", NAMESPACE, "exec", f"deployment/{DEPLOYMENT}", "--", "touch", "/written", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr + denied.stdout
    assert exec_in_operator(node, "strategy-operator", "--version").strip()
    # In-cluster configuration: the `kubernetes` Service's IP and a mounted ServiceAccount token.
    environ = dict(
        item.split("=", 1) for item in exec_in_operator(node, "cat", "/proc/1/environ").split("\0") if "=" in item
    )
    assert environ["KUBERNETES_SERVICE_HOST"] == "10.0.0.1" and environ["KUBERNETES_SERVICE_PORT"] == "443"
    assert exec_in_operator(node, "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token").count(".") == 2


def test_operator_in_the_pod_runs_an_example_strategy_against_the_sandbox_until_dormant(node, helm, sandbox) -> None:
    # The example as a user would apply it, with the sandbox's network and a short interval.
    network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=1)
    example = yaml.safe_load((REPO_ROOT / "examples" / "connectivity-partial.yaml").read_text())
    example["spec"].update(network=network, sleepInterval=2)
    helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--reuse-values",
        "--set",
        f"alchemiscale.server={sandbox.url}",
        "--set",
        "alchemiscale.credentials.create=true",
        "--set",
        "alchemiscale.credentials.identifier=operator",
        "--set",
        f"alchemiscale.credentials.key={OPERATOR_KEY}",
        "--set",
        "operator.minSleepInterval=1",
        "--set-json",
        "operator.tick=0.5",
    )
    wait_for(lambda: available(node) and running_pod(node), 120, "the upgraded pod", lambda: diagnostics(node))
    node.kubectl("-n", STRATEGIES_NS, "apply", "-f", "-", input=yaml.safe_dump(example))
    name = example["metadata"]["name"]

    wait_for(
        lambda: strategy_status(node, name).get("status") == "dormant",
        180,
        "the strategy to go dormant",
        lambda: json.dumps(strategy_status(node, name), indent=1)[:2000] + diagnostics(node),
    )
    status = strategy_status(node, name)
    assert status["iterations"] >= 2 and not status.get("exception"), status
    assert sandbox.state.network_status(network).get("complete", 0) > 0
    for transformation in sandbox.state.transformations(network):
        assert len(sandbox.state.transformation_tasks(transformation)) <= example["spec"]["maxTasksPerTransformation"]

    table = node.kubectl("-n", STRATEGIES_NS, "get", "nstrat").stdout.splitlines()
    assert table[0].split() == ["NAME", "NETWORK", "MODE", "STATUS", "ITERATIONS", "LAST", "ITERATION", "AGE"]
    row = table[1].split()
    assert row[:5] == [name, network, "partial", "dormant", str(status["iterations"])], table
    described = node.kubectl("-n", STRATEGIES_NS, "describe", "nstrat", name).stdout
    events = described.split("Events:", 1)[1]
    assert "Iterated" in events and "Dormant" in events, events
    assert OPERATOR_KEY not in described


def test_a_replacement_pod_keeps_the_schedule_and_the_task_cap(node, sandbox) -> None:
    network = sandbox.state.generate_network("path", systems=6, scope="acme-tyk2-run2", seed=2)
    interval, cap = 75, 2
    strategy = {
        "apiVersion": "alchemiscale.org/v1alpha1",
        "kind": "NetworkStrategy",
        "metadata": {"name": "kept-schedule", "namespace": STRATEGIES_NS},
        "spec": {
            "network": network,
            "strategy": {"name": "ConnectivityStrategy"},
            "maxTasksPerTransformation": cap,
            "sleepInterval": interval,
        },
    }
    node.kubectl("apply", "-f", "-", input=yaml.safe_dump(strategy))
    first = wait_for(
        lambda: (s := strategy_status(node, "kept-schedule")).get("iterations") == 1 and s,
        90,
        "the first iteration",
        lambda: diagnostics(node),
    )
    due = timestamp(first["lastIteration"]) + dt.timedelta(seconds=interval)

    old = running_pod(node)
    node.kubectl("-n", NAMESPACE, "delete", "pod", old["metadata"]["name"], "--wait=false")
    replacement = wait_for(
        lambda: (p := running_pod(node)) and p["metadata"]["uid"] != old["metadata"]["uid"] and p,
        120,
        "a Ready replacement pod",
        lambda: diagnostics(node),
    )
    assert dt.datetime.now(dt.UTC) < due - dt.timedelta(seconds=5), "the restart took too long to tell"

    # Until the old schedule is due, the replacement neither iterates nor resets the count.
    while dt.datetime.now(dt.UTC) < due - dt.timedelta(seconds=3):
        status = strategy_status(node, "kept-schedule")
        assert status["iterations"] == 1 and status["lastIteration"] == first["lastIteration"], status
        time.sleep(2)
    second = wait_for(
        lambda: (s := strategy_status(node, "kept-schedule")).get("iterations", 0) >= 2 and s,
        45,
        "the second iteration at the kept schedule",
        lambda: diagnostics(node),
    )
    assert timestamp(second["lastIteration"]) >= due - dt.timedelta(seconds=1), (first, second)
    assert replacement["metadata"]["name"] == running_pod(node)["metadata"]["name"]
    for transformation in sandbox.state.transformations(network):
        assert len(sandbox.state.transformation_tasks(transformation)) <= cap


def _operator_pid(node, pod: dict[str, Any]) -> int:
    (container,) = pod["status"]["containerStatuses"]
    container_id = container["containerID"].split("://", 1)[1]
    listed = node.ctr("tasks", "ls").stdout.splitlines()[1:]
    pids = [int(line.split()[1]) for line in listed if line.split()[0] == container_id]
    assert pids, listed
    return pids[0]


def test_the_liveness_probe_restarts_a_frozen_operator(node) -> None:
    pod = running_pod(node)
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    pid = _operator_pid(node, pod)
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:

        def restarted() -> bool:
            current = running_pod(node)
            return bool(current) and current["status"]["containerStatuses"][0]["restartCount"] > restarts

        # Stock probe (every 20 s, 5 s timeout, 3 failures) finds it within ~70 s; the kubelet's
        # SIGTERM stays pending in a stopped process, so the kill comes after the pod's
        # terminationGracePeriodSeconds (60 s), then the restart.
        wait_for(restarted, 240, "the kubelet to restart the frozen operator", lambda: diagnostics(node))
    finally:
        with contextlib.suppress(ProcessLookupError):  # the kubelet may have killed it already
            os.kill(pid, signal.SIGCONT)
    print(f"\n# frozen operator restarted and Ready after {time.monotonic() - started:.1f}s")
    events = node.kubectl(
        "-n",
        NAMESPACE,
        "get",
        "events",
        "--field-selector",
        f"involvedObject.name={pod['metadata']['name']}",
        "-o",
        "json",
    ).stdout
    assert "Liveness probe failed" in events


def test_helm_upgrade_of_min_sleep_interval_takes_effect(node, helm, sandbox) -> None:
    helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--reuse-values",
        "--set",
        "operator.minSleepInterval=7",
    )
    wait_for(
        lambda: (p := running_pod(node)) and _env(p).get("STRATEGY_OPERATOR_MIN_SLEEP_INTERVAL") == "7",
        120,
        "a Ready pod of the upgraded release",
        lambda: diagnostics(node),
    )
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run3", seed=3)
    node.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump(
            {
                "apiVersion": "alchemiscale.org/v1alpha1",
                "kind": "NetworkStrategy",
                "metadata": {"name": "floored", "namespace": STRATEGIES_NS},
                "spec": {"network": network, "strategy": {"name": "ConnectivityStrategy"}, "sleepInterval": 1},
            }
        ),
    )
    status = wait_for(
        lambda: (s := strategy_status(node, "floored")).get("effectiveSleepInterval") and s,
        60,
        "the floored strategy's first iteration",
        lambda: diagnostics(node),
    )
    assert status["effectiveSleepInterval"] == 7, status


def _env(pod: dict[str, Any]) -> dict[str, str]:
    (container,) = pod["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_uninstall_in_the_documented_order_leaves_no_stuck_finalizer(node, helm) -> None:
    # docs/install.md: delete the strategies while the operator still runs, then uninstall.
    node.kubectl("delete", "networkstrategies", "--all", "--all-namespaces", "--timeout=90s")
    assert json.loads(node.kubectl("get", "networkstrategies", "-A", "-o", "json").stdout)["items"] == []
    helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "120s")
    wait_for(lambda: not pods(node), 90, "the operator pod to go", lambda: diagnostics(node))
    assert node.kubectl("-n", NAMESPACE, "get", "deployment", DEPLOYMENT, check=False).returncode != 0


def test_the_host_outside_the_namespace_is_untouched_while_the_node_runs(node) -> None:
    """While the node runs the host differs only by the namespace's own name (and its bind mount),
    the pod cgroups under the node's cgroup root, and the kernel sysctls the kubelet writes
    (put back on stop; the session teardown checks that everything is as before)."""
    before, now = node.host_before, node.host_now()
    assert set(now.netns) - set(before.netns) == {node.name}
    assert now.iptables == before.iptables
    assert now.listening == before.listening
    changed_mounts = set(now.mounts) ^ set(before.mounts)
    assert {m.split()[-1] for m in changed_mounts} <= {"/run/netns", node.netns.path}, changed_mounts
    foreign = sorted(c for c in now.cgroups ^ before.cgroups if c.split("/")[1:2] != [node.name])
    assert not foreign, foreign[:20]
