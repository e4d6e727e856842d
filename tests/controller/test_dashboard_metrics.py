"""Every series the Grafana dashboard queries is one the running operator exposes on /metrics.

The operator runs as a process against the sandbox with two strategies, one iterating and
one failing to log in (so the error counter has a series), then its /metrics is parsed.
"""

from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from strategy_operator_dev.repo import repo_root

from .operator_harness import IDENTITY, KEY, OPERATOR_E2E, network_strategy, wait_for

pytestmark = OPERATOR_E2E

DASHBOARD = repo_root() / "charts" / "alchemiscale-strategy-operator" / "dashboards" / "strategy-operator.json"
SERIES = re.compile(r"\b(strategy_operator_[a-z_]+)\b")
GROUPING = re.compile(r"\bby \(([a-z_, ]+)\)")


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    return queries


def test_the_dashboard_queries_only_series_the_operator_exposes(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=3)
    # A network of its own: a second NetworkStrategy on one network would stay idle (one owner each).
    other_network = sandbox.state.generate_network("star", systems=4, scope="acme-tyk2-run1", seed=4)
    cluster.credentials(IDENTITY, KEY)
    cluster.credentials(IDENTITY, "not-the-key", name="wrong-creds")
    operator = start_operator(default_server=True)
    cluster.apply(network_strategy("good", network))
    cluster.apply(network_strategy("bad", other_network, secret="wrong-creds"))
    wait_for(lambda: cluster.status("good").get("iterations") == 1, timeout=60, what="an iteration")
    wait_for(lambda: cluster.status("bad").get("status") == "error", timeout=60, what="the login failure")

    code, text = operator.get("/metrics")
    assert code == 200
    labels_of: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels_of.setdefault(sample.name, set()).update(sample.labels)

    queried = set()
    for query in dashboard_queries():
        names = SERIES.findall(query)
        assert names, f"a query without an operator series: {query}"
        for name in names:
            queried.add(name)
            assert name in labels_of, f"{name} (in {query!r}) is not on /metrics: {sorted(labels_of)}"
        for grouping in GROUPING.findall(query):
            for label in (part.strip() for part in grouping.split(",")):
                assert any(label in labels_of[name] for name in names), f"no series of {query!r} has label {label}"
    assert {
        "strategy_operator_strategies",
        "strategy_operator_iterations_total",
        "strategy_operator_iteration_duration_seconds_bucket",
        "strategy_operator_tasks_total",
        "strategy_operator_alchemiscale_requests_total",
        "strategy_operator_alchemiscale_errors_total",
    } <= queried
    assert 'type="InvalidCredentials"' in text
