"""Helpers for the operator's end-to-end tests: the operator as a real process, polling, manifests."""

from __future__ import annotations

import asyncio
import http.server
import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from strategy_operator_dev import procs

T = TypeVar("T")

# An operator end-to-end test: the local kube-apiserver, the operator as a process, minutes at the most.
OPERATOR_E2E = [pytest.mark.e2e, pytest.mark.kubernetes, pytest.mark.timeout(240)]

# Fast settings for tests: a half-second tick and a one-second operator minimum interval.
FAST = ["--tick", "0.5", "--min-sleep-interval", "1", "--log-level", "info"]


# The identity every operator test logs in as; the sandbox grants it SCOPE.
IDENTITY = "alice"
KEY = "alice-secret-key-0123"
SCOPE = "acme-tyk2-*"


def wait_for(check: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.25, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last value: {last!r}")


def planned_now(url: str, identifier: str, key: str, network: str, **spec: Any):
    """What the engine plans for the network as it is now, observed over the server's HTTP API, for a
    NetworkStrategy spec with these fields (camelCase, as in the resource) and the defaults for the rest."""
    from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, NetworkSnapshotter, build_snapshot
    from strategy_operator.engine import Snapshot, plan_iteration

    async def observe():
        async with AlchemiscaleClient(url, Credentials(identifier, key)) as client:
            return await NetworkSnapshotter(client, network).observe()

    document = build_snapshot(
        asyncio.run(observe()),
        strategy={"name": "ConnectivityStrategy"},
        mode=spec.get("mode", "partial"),
        task_scaling=spec.get("taskScaling", "exponential"),
        max_tasks_per_transformation=spec.get("maxTasksPerTransformation", 3),
        state={"status": "awake", "lastIterationResultCount": 0},
    )
    return plan_iteration(Snapshot.model_validate(document))


def assert_rides_out_outage(cluster, name: str, *, timeout: float) -> None:
    """While alchemiscale does not answer: the Degraded condition says so, and the status never turns to error."""
    wait_for(
        lambda: cluster.condition(name, "Degraded").get("reason") == "AlchemiscaleUnreachable",
        timeout=timeout,
        what="the Degraded condition",
    )
    seen = []
    for _ in range(6):
        seen.append(cluster.status(name).get("status"))
        time.sleep(0.5)
    assert "error" not in seen


def assert_recovers(cluster, name: str, *, timeout: float, what: str) -> dict[str, Any]:
    """Once alchemiscale answers again: the first iteration runs and the strategy is awake, with no exception."""
    status = wait_for(
        lambda: cluster.status(name).get("iterations") == 1 and cluster.status(name), timeout=timeout, what=what
    )
    assert status["status"] == "awake" and "exception" not in status
    return status


class OperatorProcess(procs.OperatorProcess):
    """`strategy-operator run` with the tests' fast settings; its output goes to a log file the test can read."""

    def __init__(
        self, namespace: str, log_path: Path, extra_args: list[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(namespace, log_path, [*FAST, *(extra_args or [])], env)


def network_strategy(
    name: str, network: str, *, secret: str | None = "alchemiscale-creds", url: str | None = None, **spec: Any
) -> str:
    body: dict[str, Any] = {"network": network, "strategy": {"name": "ConnectivityStrategy"}}
    body.update(spec)
    if url is not None or secret is not None:
        server: dict[str, Any] = {}
        if url is not None:
            server["url"] = url
        if secret is not None:
            server["credentialsSecret"] = secret
        body["server"] = server
    return yaml.safe_dump(
        {"apiVersion": "alchemiscale.org/v1alpha1", "kind": "NetworkStrategy", "metadata": {"name": name}, "spec": body}
    )


class Cluster:
    """kubectl conveniences for one test namespace; credentials Secrets are bound to `servers`."""

    def __init__(self, kubectl: Callable[..., subprocess.CompletedProcess[str]], servers: tuple[str, ...] = ()) -> None:
        self.kubectl = kubectl
        self.servers = servers

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def credentials(
        self, identifier: str, key: str, name: str = "alchemiscale-creds", servers: tuple[str, ...] | None = None
    ) -> None:
        """A credentials Secret, bound by its owner (the test) to `servers` (default: the cluster's)."""
        self.kubectl(
            "create", "secret", "generic", name, f"--from-literal=identifier={identifier}", f"--from-literal=key={key}"
        )
        bound = self.servers if servers is None else servers
        if bound:
            self.kubectl("annotate", "secret", name, f"alchemiscale.org/servers={','.join(bound)}")

    def resource(self, name: str) -> dict[str, Any]:
        result = self.kubectl("get", "networkstrategy", name, "-o", "json", check=False)
        if result.returncode != 0:
            return {}
        return json.loads(result.stdout)

    def status(self, name: str) -> dict[str, Any]:
        return self.resource(name).get("status") or {}

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        for condition in self.status(name).get("conditions") or []:
            if condition.get("type") == kind:
                return condition
        return {}

    def events(self, name: str) -> list[dict[str, Any]]:
        result = self.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
        return json.loads(result.stdout)["items"]

    def delete(self, name: str, wait: bool = True) -> None:
        self.kubectl(
            "delete", "networkstrategy", name, f"--wait={'true' if wait else 'false'}", "--timeout=60s", check=False
        )

    def delete_all(self) -> None:
        self.kubectl("delete", "networkstrategies", "--all", "--wait=true", "--timeout=60s", check=False)

    def strip_finalizers(self) -> None:
        names = self.kubectl("get", "networkstrategies", "-o", "name", check=False).stdout.split()
        for ref in names:
            self.kubectl("patch", ref, "--type=merge", "-p", '{"metadata":{"finalizers":[]}}', check=False)

    def wake(self, name: str, token: str) -> None:
        self.kubectl("annotate", "networkstrategy", name, f"alchemiscale.org/wake={token}", "--overwrite")

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.kubectl("patch", "networkstrategy", name, "--type=merge", "-p", json.dumps({"spec": spec}))


def actioned_by_transformation(state, network: str) -> Counter:
    """{transformation: number of its tasks actioned on the network's TaskHub} in the sandbox."""
    from strategy_operator.scopedkey import ScopedKey

    tasks = state.actioned_tasks(ScopedKey.from_str(network))
    return Counter(state.task_transformation(task) for task in tasks)


@contextmanager
def peak_actioned_by_transformation(state, network: str) -> Iterator[Counter]:
    """Watch, from a background thread, the most tasks each transformation ever had actioned."""
    peak: Counter = Counter()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for transformation, count in actioned_by_transformation(state, network).items():
                peak[transformation] = max(peak[transformation], count)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield peak
    finally:
        stop.set()
        watcher.join()


class RecordingServer:
    """An HTTP server on loopback that answers 200 to everything and records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append((self.command, self.path, self.rfile.read(length)))
                body = b'{"access_token": "x"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record

            def log_message(self, *args: object) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
