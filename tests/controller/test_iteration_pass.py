"""One pass of `IterationRunner` against the sandbox over real HTTP (no Kubernetes involved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import normalize_server
from strategy_operator.controller.outcomes import ResourceView
from strategy_operator.controller.reconcile import IterationRunner
from strategy_operator.controller.resolve import InvalidSpec, ServerNotConfigured, choose_server, parse_spec
from strategy_operator.controller.scheduling import format_time, parse_time
from strategy_operator.controller.secrets import CredentialsSecretNotFound, SecretCredentials
from strategy_operator.controller.sessions import SessionCache
from strategy_operator.scopedkey import Scope

KEY = "alice-secret-key-0123"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


class StaticSecrets:
    """Stands in for the Secret reader: these tests are about alchemiscale, not Kubernetes."""

    def __init__(self, secrets: dict[tuple[str, str], SecretCredentials]) -> None:
        self.secrets = secrets

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        try:
            return self.secrets[(namespace, name)]
        except KeyError:
            raise CredentialsSecretNotFound(f"credentials Secret {namespace}/{name} does not exist") from None


def make_runner(sandbox, key: str = KEY, **settings) -> IterationRunner:
    config = OperatorConfig(default_server=sandbox.url, min_sleep_interval=1, tick=1, **settings)
    secrets = StaticSecrets({("ns", "creds"): SecretCredentials("alice", key, (normalize_server(sandbox.url),))})
    return IterationRunner(config, secrets, None, clock=lambda: NOW)  # type: ignore[arg-type]


def view(network: str, status: dict | None = None, annotations: dict | None = None, **spec) -> ResourceView:
    body = {
        "network": network,
        "strategy": {"name": "ConnectivityStrategy"},
        "server": {"credentialsSecret": "creds"},
        **spec,
    }
    return ResourceView("ns", "x", 3, body, NetworkStrategyStatus.read(status), annotations or {})


async def run(runner: IterationRunner, resource: ResourceView, failures: int = 0):
    sessions = SessionCache()
    try:
        return await runner.run(resource, sessions, transient_failures=failures, mode_now=lambda: "partial")
    finally:
        await sessions.aclose()


def assert_valid(resource: ResourceView, change: NetworkStrategyStatus) -> dict:
    """The status document the pass writes, checked to read back as the same status."""
    status = resource.status.merged(change)
    document = status.document()
    assert NetworkStrategyStatus.model_validate(document) == status
    return document


def condition(status: dict, kind: str) -> dict:
    """The status document's condition of type `kind` (it must have one)."""
    (found,) = [c for c in status["conditions"] if c["type"] == kind]
    return found


async def test_a_pass_iterates_and_reports_a_valid_status(sandbox):
    network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=1)
    resource = view(network, sleepInterval=60)
    outcome = await run(make_runner(sandbox), resource)
    assert outcome.result == "iterated", outcome.log
    status = assert_valid(resource, outcome.status_change)
    assert status["status"] == "awake" and status["iterations"] == 1
    assert status["lastIteration"] == format_time(NOW)
    assert parse_time(status["nextIteration"]) == NOW + timedelta(seconds=60)
    assert status["observedGeneration"] == 3
    assert outcome.tasks.created == status["lastIterationSummary"]["tasksCreated"] > 0
    assert [e.reason for e in outcome.events] == ["Iterated"]


async def test_dormant_with_unchanged_results_only_checks(sandbox):
    network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=1)
    previous = {
        "status": "dormant",
        "iterations": 4,
        "lastIterationResultCount": 0,
        "lastIteration": "2026-11-25T11:00:00Z",
    }
    resource = view(network, previous, sleepInterval=60)
    outcome = await run(make_runner(sandbox), resource)
    assert outcome.result == "unchanged"
    status = assert_valid(resource, outcome.status_change)
    assert status["iterations"] == 4 and status["lastIteration"] == "2026-11-25T11:00:00Z"
    assert parse_time(status["nextIteration"]) == NOW + timedelta(seconds=60)
    assert not sandbox.state.network_tasks(network)


async def test_outage_is_transient_with_backoff(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    sandbox.faults.outage(True)
    resource = view(network, {"status": "awake", "iterations": 2}, sleepInterval=600)
    outcome = await run(make_runner(sandbox), resource, failures=2)
    assert outcome.result == "transient", outcome.log
    status = assert_valid(resource, outcome.status_change)
    assert status["status"] == "awake" and "exception" not in status
    assert parse_time(status["nextIteration"]) == NOW + timedelta(seconds=4)  # third failure in a row
    degraded = condition(status, "Degraded")
    assert degraded["reason"] == "AlchemiscaleUnreachable"
    assert outcome.events == []  # only the first failure of a run is an event


async def test_invalid_credentials_are_an_error_without_the_key_anywhere(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    resource = view(network, {"iterations": 1, "lastIterationResultCount": 7})
    outcome = await run(make_runner(sandbox, key="wrong-key-987654"), resource)
    assert outcome.result == "error"
    status = assert_valid(resource, outcome.status_change)
    assert status["status"] == "error" and status["exception"]["type"] == "InvalidCredentials"
    assert status["iterations"] == 2 and status["lastIterationResultCount"] == 7  # count kept
    assert "nextIteration" not in status
    assert "wrong-key-987654" not in repr(outcome)


async def test_scope_outside_allowed_scopes_sends_no_request(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run2", seed=1)
    runner = make_runner(sandbox, allowed_scopes=(Scope("acme", "tyk2", "run1"),))
    outcome = await run(runner, view(network))
    assert outcome.result == "error"
    assert outcome.status_change.exception.type == "ScopeNotAllowed"
    assert "acme-tyk2-run1" in outcome.status_change.exception.message
    assert sandbox.requests.total == 0


async def test_wake_token_clears_the_error_and_is_recorded(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    previous = {
        "status": "error",
        "iterations": 1,
        "exception": {"type": "X", "message": "y"},
        "traceback": "t",
        "lastWakeToken": "a",
    }
    resource = view(network, previous, {"alchemiscale.org/wake": "b"})
    outcome = await run(make_runner(sandbox), resource)
    status = assert_valid(resource, outcome.status_change)
    assert outcome.result == "iterated"
    assert status["status"] == "awake" and status["lastWakeToken"] == "b"
    assert "exception" not in status and "traceback" not in status


async def test_invalid_spec_names_the_field(sandbox):
    outcome = await run(make_runner(sandbox), view("AlchemicalNetwork-abc-acme-tyk2-run1", maxTasksPerTransformation=0))
    assert outcome.result == "error" and outcome.status_change.exception.type == "InvalidSpec"
    assert "maxTasksPerTransformation" in outcome.status_change.exception.message


def test_choose_server_prefers_the_resource_then_the_operator_defaults():
    spec = NetworkStrategySpec.model_validate(
        {"network": "AlchemicalNetwork-abc-acme-tyk2-run1", "strategy": {"name": "ConnectivityStrategy"}}
    )
    defaults = OperatorConfig(
        default_server="https://a.example.org", default_credentials_secret="creds", operator_namespace="ops"
    )
    choice = choose_server(spec, "team", defaults)
    assert (choice.url, choice.secret_namespace, choice.secret_name) == ("https://a.example.org", "ops", "creds")
    own = parse_spec(
        {
            **spec.model_dump(by_alias=True, exclude_none=True),
            "server": {"url": "https://b.example.org", "credentialsSecret": "mine"},
        }
    )
    choice = choose_server(own, "team", defaults)
    assert (choice.url, choice.secret_namespace, choice.secret_name) == ("https://b.example.org", "team", "mine")
    with pytest.raises(ServerNotConfigured, match="default-server"):
        choose_server(spec, "team", OperatorConfig())
    with pytest.raises(ServerNotConfigured, match="credentialsSecret"):
        choose_server(spec, "team", OperatorConfig(default_server="https://a.example.org"))
    with pytest.raises(InvalidSpec, match="spec"):
        parse_spec({"network": "nope"})


async def test_missing_network_is_an_error(sandbox):
    outcome = await run(make_runner(sandbox), view("AlchemicalNetwork-doesnotexist-acme-tyk2-run1"))
    assert outcome.result == "error", outcome.log
    assert outcome.status_change.exception.type == "NetworkNotFound"
    assert outcome.error_type == "NetworkNotFound"


class _KubernetesApiAnswering503:
    """A loopback HTTP server standing in for a kube-apiserver that answers every request 503."""

    def __enter__(self) -> str:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
                body = (
                    b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is unavailable","code":503}'
                )
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _secret_reader(host: str):
    from kubernetes import client

    from strategy_operator.controller.kube import SecretReader

    configuration = client.Configuration(host=host)
    configuration.retries = 0
    return SecretReader(client.CoreV1Api(client.ApiClient(configuration)))


@pytest.mark.parametrize("kubernetes_api", ["answers 503", "refuses connections"])
async def test_kubernetes_api_failing_to_read_the_secret_is_transient_not_an_error(sandbox, kubernetes_api):
    # A hiccup of the Kubernetes API is no fault of the strategy: an error would stop it until woken.
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    config = OperatorConfig(default_server=sandbox.url, min_sleep_interval=1, tick=1)
    if kubernetes_api == "answers 503":
        with _KubernetesApiAnswering503() as host:
            runner = IterationRunner(config, _secret_reader(host), None, clock=lambda: NOW)
            outcome = await run(runner, view(network, sleepInterval=60))
    else:
        import socket

        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            host = f"http://127.0.0.1:{unused.getsockname()[1]}"
        runner = IterationRunner(config, _secret_reader(host), None, clock=lambda: NOW)
        outcome = await run(runner, view(network, sleepInterval=60))
    assert outcome.result == "transient", outcome.log
    status = assert_valid(view(network), outcome.status_change)
    assert "exception" not in status and status.get("status") != "error"
    assert "ns/creds" in outcome.log
    assert parse_time(status["nextIteration"]) > NOW


async def test_a_long_retry_after_sets_the_next_attempt_and_is_not_an_error(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    sandbox.faults.answer_next(
        1,
        429,
        "Too Many Requests",
        content_type="text/plain",
        headers={"Retry-After": "120"},
        path_prefix="/bulk/networks/status",
    )
    resource = view(network, {"status": "awake", "iterations": 2}, sleepInterval=600)
    outcome = await run(make_runner(sandbox), resource)
    assert outcome.result == "transient", outcome.log
    status = assert_valid(resource, outcome.status_change)
    assert status["status"] == "awake" and "exception" not in status
    assert parse_time(status["nextIteration"]) == NOW + timedelta(seconds=120)
    degraded = condition(status, "Degraded")
    assert degraded["reason"] == "AlchemiscaleBusy"
    assert "HTTP 429, text/plain: 'Too Many Requests'" in degraded["message"]


@pytest.mark.parametrize("processed", [False, True], ids=["unprocessed", "processed-by-the-server"])
async def test_a_503_with_retry_after_on_task_creation_waits_as_asked_and_loses_nothing(sandbox, processed):
    # Creation is not repeated after a 503 (a proxy may answer it after the server created
    # the tasks); the pass is transient, waits what Retry-After asks, and the next pass's
    # snapshot shows what exists, so it creates exactly what is missing.
    network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=1)
    twin = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run2", seed=1)
    sandbox.faults.answer_next(
        1,
        503,
        "Service Unavailable",
        content_type="text/plain",
        headers={"Retry-After": "120"},
        path_prefix="/bulk/transformations/tasks/create",
        after_processing=processed,
    )
    resource = view(network, sleepInterval=60)
    first = await run(make_runner(sandbox), resource)
    assert first.result == "transient" and first.error_type == "OutcomeUnknown", first.log
    status = assert_valid(resource, first.status_change)
    assert status.get("status") != "error" and "exception" not in status
    assert parse_time(status["nextIteration"]) >= NOW + timedelta(seconds=120)
    degraded = condition(status, "Degraded")
    assert degraded["reason"] == "AlchemiscaleUnreachable"
    for text in (degraded["message"], first.events[0].message, first.log):
        assert "answered task creation 503" in text and "the server asked to wait 120 s" in text
    assert [e.reason for e in first.events] == ["AlchemiscaleUnreachable"]
    left_by_the_first = len(sandbox.state.network_tasks(network))
    assert (left_by_the_first > 0) == processed  # processed: created, unactioned, unanswered

    second = await run(make_runner(sandbox), view(network, status, sleepInterval=60), failures=1)
    assert second.result == "iterated", second.log
    reference = await run(make_runner(sandbox), view(twin, sleepInterval=60))
    assert reference.result == "iterated" and reference.tasks.created > 0

    def tasks_per_transformation(n: str) -> list[int]:
        return sorted(len(sandbox.state.transformation_tasks(t)) for t in sandbox.state.transformations(n))

    assert tasks_per_transformation(network) == tasks_per_transformation(twin)  # no duplicates, none missing
    assert len(sandbox.state.actioned_tasks(network)) == len(sandbox.state.actioned_tasks(twin))
    assert second.tasks.created == reference.tasks.created - left_by_the_first


@pytest.mark.parametrize("body", ["<html><body><h1>502 Bad Gateway</h1></body></html>", '{"unexpected": "shape"}'])
async def test_an_answer_that_is_not_alchemiscale_s_is_transient_and_quoted(sandbox, body):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    kind = "text/html" if body.startswith("<") else "application/json"
    sandbox.faults.answer_next(1, 200, body, content_type=kind, path_prefix="/bulk/networks/status")
    resource = view(network, {"status": "awake", "iterations": 2}, sleepInterval=600)
    outcome = await run(make_runner(sandbox), resource)
    assert outcome.result == "transient", outcome.log
    status = assert_valid(resource, outcome.status_change)
    degraded = condition(status, "Degraded")
    assert degraded["reason"] == "UnexpectedAnswer"
    assert ("502 Bad Gateway" if kind == "text/html" else "'unexpected'") in degraded["message"]
    assert "KeyError" not in degraded["message"]


async def test_a_network_removed_from_the_server_is_network_not_found(sandbox):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=1)
    runner = make_runner(sandbox)
    sessions = SessionCache()
    try:
        first = await runner.run(
            view(network, sleepInterval=60), sessions, transient_failures=0, mode_now=lambda: "partial"
        )
        assert first.result == "iterated"
        sandbox.state.remove_network(network)
        gone = await runner.run(
            view(network, first.status_change.document(), sleepInterval=60),
            sessions,
            transient_failures=0,
            mode_now=lambda: "partial",
        )
    finally:
        await sessions.aclose()
    assert gone.result == "error"
    status = assert_valid(view(network), gone.status_change)
    assert status["exception"]["type"] == "NetworkNotFound"
    ready = condition(status, "Ready")
    assert ready["reason"] == "NetworkNotFound"
