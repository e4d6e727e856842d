"""The committed NetworkStrategy CRD, as the real kube-apiserver enforces and presents it.

Every invalid object must be refused by the API server itself (OpenAPI schema, CEL rules,
or kubectl's default strict field validation for unknown fields), with a message that
names the offending field path.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from strategy_operator.api import GROUP, KIND, VERSION
from strategy_operator_dev.repo import repo_root

REPO_ROOT = repo_root()
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
NETWORK = "AlchemicalNetwork-0a1b2c3d-acme-tyk2-run1"

Spec = dict[str, Any]


def manifest(name: str, spec: Spec | None) -> str:
    body: dict[str, Any] = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": {"name": name}}
    if spec is not None:
        body["spec"] = spec
    return json.dumps(body)


def connectivity(**settings: Any) -> Spec:
    return {"network": NETWORK, "strategy": {"name": "ConnectivityStrategy", "settings": settings or {"max_runs": 3}}}


def radial(**settings: Any) -> Spec:
    return {"network": NETWORK, "strategy": {"name": "RadialGrowthStrategy", "settings": settings}}


def with_spec(**fields: Any) -> Spec:
    spec = connectivity()
    spec.update(fields)
    return spec


def without(*path: str) -> Spec:
    spec = copy.deepcopy(connectivity())
    parent = spec
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return spec


# (case id, spec or None for "no spec at all", the field path the error must name)
INVALID: list[tuple[str, Spec | None, str]] = [
    ("mode-unknown", with_spec(mode="sometimes"), "spec.mode"),
    ("mode-wrong-case", with_spec(mode="Full"), "spec.mode"),
    ("taskScaling-unknown", with_spec(taskScaling="quadratic"), "spec.taskScaling"),
    ("maxTasks-zero", with_spec(maxTasksPerTransformation=0), "spec.maxTasksPerTransformation"),
    ("maxTasks-negative", with_spec(maxTasksPerTransformation=-2), "spec.maxTasksPerTransformation"),
    ("maxTasks-boolean", with_spec(maxTasksPerTransformation=True), "spec.maxTasksPerTransformation"),
    ("maxTasks-fraction", with_spec(maxTasksPerTransformation=2.5), "spec.maxTasksPerTransformation"),
    ("sleepInterval-zero", with_spec(sleepInterval=0), "spec.sleepInterval"),
    ("sleepInterval-negative", with_spec(sleepInterval=-60), "spec.sleepInterval"),
    ("sleepInterval-string", with_spec(sleepInterval="3600"), "spec.sleepInterval"),
    ("cancelTasksOnDelete-string", with_spec(cancelTasksOnDelete="yes"), "spec.cancelTasksOnDelete"),
    ("network-malformed", with_spec(network="not-a-scoped-key"), "spec.network"),
    ("network-not-an-alchemicalnetwork", with_spec(network="Transformation-0a1b2c3d-acme-tyk2-run1"), "spec.network"),
    ("network-missing-project", with_spec(network="AlchemicalNetwork-0a1b2c3d-acme-tyk2"), "spec.network"),
    ("network-wildcard-scope", with_spec(network="AlchemicalNetwork-0a1b2c3d-acme-*-*"), "spec.network"),
    ("network-extra-segment", with_spec(network=NETWORK + "-extra"), "spec.network"),
    ("network-number", with_spec(network=42), "spec.network"),
    ("strategy-unknown-name", with_spec(strategy={"name": "GreedyStrategy"}), "spec.strategy.name"),
    ("strategy-name-missing", with_spec(strategy={"settings": {"max_runs": 3}}), "spec.strategy.name"),
    (
        "strategy-settings-not-an-object",
        with_spec(strategy={"name": "ConnectivityStrategy", "settings": "fast"}),
        "spec.strategy.settings",
    ),
    ("connectivity-neither-max_runs-nor-cutoff", connectivity(decay_rate=0.5), "spec.strategy.settings"),
    (
        "connectivity-empty-settings",
        with_spec(strategy={"name": "ConnectivityStrategy", "settings": {}}),
        "spec.strategy.settings",
    ),
    (
        "connectivity-with-radial-setting",
        connectivity(max_runs=3, candidacy_max_distance=2),
        "spec.strategy.settings.candidacy_max_distance",
    ),
    (
        "connectivity-with-decay_repeat_rate",
        connectivity(max_runs=3, decay_repeat_rate=0.5),
        "spec.strategy.settings.decay_repeat_rate",
    ),
    ("radial-with-cutoff", radial(cutoff=0.1), "spec.strategy.settings.cutoff"),
    ("radial-with-decay_rate", radial(decay_rate=0.5), "spec.strategy.settings.decay_rate"),
    ("decay_rate-zero", connectivity(max_runs=3, decay_rate=0), "spec.strategy.settings.decay_rate"),
    ("decay_rate-one", connectivity(max_runs=3, decay_rate=1), "spec.strategy.settings.decay_rate"),
    ("decay_rate-above-one", connectivity(max_runs=3, decay_rate=1.5), "spec.strategy.settings.decay_rate"),
    ("decay_rate-string", connectivity(max_runs=3, decay_rate="0.5"), "spec.strategy.settings.decay_rate"),
    ("decay_repeat_rate-zero", radial(decay_repeat_rate=0), "spec.strategy.settings.decay_repeat_rate"),
    ("decay_distance_rate-one", radial(decay_distance_rate=1), "spec.strategy.settings.decay_distance_rate"),
    ("max_runs-zero", connectivity(max_runs=0), "spec.strategy.settings.max_runs"),
    ("max_runs-fraction", connectivity(max_runs=2.5), "spec.strategy.settings.max_runs"),
    ("max_runs-boolean", radial(max_runs=True), "spec.strategy.settings.max_runs"),
    ("cutoff-zero", connectivity(cutoff=0), "spec.strategy.settings.cutoff"),
    ("cutoff-negative", connectivity(cutoff=-0.1), "spec.strategy.settings.cutoff"),
    ("candidacy_max_distance-zero", radial(candidacy_max_distance=0), "spec.strategy.settings.candidacy_max_distance"),
    ("unknown-spec-field", with_spec(retries=3), "spec.retries"),
    ("unknown-setting", connectivity(max_runs=3, max_iterations=10), "spec.strategy.settings.max_iterations"),
    (
        "unknown-strategy-field",
        with_spec(strategy={"name": "ConnectivityStrategy", "options": {}}),
        "spec.strategy.options",
    ),
    (
        "server-url-not-http",
        with_spec(server={"url": "ftp://alchemiscale.example.org", "credentialsSecret": "creds"}),
        "spec.server.url",
    ),
    (
        "server-url-not-a-url",
        with_spec(server={"url": "alchemiscale.example.org", "credentialsSecret": "creds"}),
        "spec.server.url",
    ),
    ("server-url-without-host", with_spec(server={"url": "https://", "credentialsSecret": "creds"}), "spec.server.url"),
    (
        "server-url-without-credentials",
        with_spec(server={"url": "https://alchemiscale.example.org"}),
        "spec.server.credentialsSecret",
    ),
    ("server-empty", with_spec(server={}), "spec.server"),
    (
        "server-secret-name-invalid",
        with_spec(server={"credentialsSecret": "Alice_Credentials"}),
        "spec.server.credentialsSecret",
    ),
    ("server-unknown-field", with_spec(server={"credentialsSecret": "creds", "token": "s3cr3t"}), "spec.server.token"),
    ("network-missing", without("network"), "spec.network"),
    ("strategy-missing", without("strategy"), "spec.strategy"),
    ("spec-missing", None, "spec"),
]


def names_field(stderr: str, path: str) -> bool:
    """The path appears as a whole field path: followed by ':' (schema/CEL) or '"' (strict decoding)."""
    return re.search(re.escape(path) + r'(:|")', stderr) is not None


def test_the_crd_is_established(crd_installed, _session_kubectl):
    crd = json.loads(_session_kubectl("get", "crd", crd_installed, "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions.get("Established") == "True"
    assert conditions.get("NamesAccepted") == "True"
    assert crd["status"]["acceptedNames"]["shortNames"] == ["nstrat"]


def test_the_corpus_is_large_and_distinct():
    ids = [case_id for case_id, _, _ in INVALID]
    assert len(ids) >= 15 and len(set(ids)) == len(ids)


@pytest.mark.parametrize(("spec", "field"), [pytest.param(spec, field, id=case) for case, spec, field in INVALID])
def test_invalid_network_strategies_are_rejected_naming_the_field(spec, field, crd_installed, kubectl):
    result = kubectl("create", "-f", "-", input=manifest("invalid", spec), check=False)
    assert result.returncode != 0, f"the API server accepted an invalid object:\n{result.stdout}"
    assert names_field(result.stderr, field), f"the error does not name {field}:\n{result.stderr}"
    assert kubectl("get", "networkstrategy", "invalid", check=False).returncode != 0


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_examples_are_accepted(example, crd_installed, kubectl):
    kubectl("create", "-f", str(example))
    names = [
        doc["metadata"]["name"] for doc in yaml.safe_load_all(example.read_text()) if doc and doc.get("kind") == KIND
    ]
    for name in names:
        stored = json.loads(kubectl("get", "networkstrategy", name, "-o", "json").stdout)
        assert stored["spec"]["network"].startswith("AlchemicalNetwork-")


def test_examples_exist():
    assert EXAMPLES, "examples/ should hold at least one NetworkStrategy manifest"


VALID: list[tuple[str, Spec]] = [
    ("connectivity-defaults", {"network": NETWORK, "strategy": {"name": "ConnectivityStrategy"}}),
    ("connectivity-cutoff-only", connectivity(cutoff=0.05)),
    ("connectivity-both-limits", connectivity(max_runs=5, cutoff=0.01, decay_rate=0.9)),
    ("radial-defaults", {"network": NETWORK, "strategy": {"name": "RadialGrowthStrategy"}}),
    ("radial-empty-settings", radial()),
    (
        "radial-every-setting",
        radial(max_runs=4, candidacy_max_distance=3, decay_repeat_rate=0.1, decay_distance_rate=0.9),
    ),
    ("disabled-linear", with_spec(mode="disabled", taskScaling="linear", maxTasksPerTransformation=1, sleepInterval=1)),
    ("server-secret-only", with_spec(server={"credentialsSecret": "alchemiscale-alice"})),
    ("server-url-and-secret", with_spec(server={"url": "http://127.0.0.1:8000/", "credentialsSecret": "creds"})),
]


@pytest.mark.parametrize("spec", [pytest.param(spec, id=case) for case, spec in VALID])
def test_valid_edge_cases_are_accepted(spec, crd_installed, kubectl):
    kubectl("create", "-f", "-", input=manifest("valid", spec))


def test_defaults_are_applied_by_the_api_server(crd_installed, kubectl):
    kubectl(
        "create",
        "-f",
        "-",
        input=manifest("defaults", {"network": NETWORK, "strategy": {"name": "ConnectivityStrategy"}}),
    )
    spec = json.loads(kubectl("get", "nstrat", "defaults", "-o", "json").stdout)["spec"]
    assert spec["mode"] == "partial"
    assert spec["taskScaling"] == "exponential"
    assert spec["maxTasksPerTransformation"] == 3
    assert spec["sleepInterval"] == 3600
    assert spec["cancelTasksOnDelete"] is False


def test_the_network_cannot_be_changed(crd_installed, kubectl):
    kubectl("create", "-f", "-", input=manifest("pinned", connectivity()))
    other = "AlchemicalNetwork-ffff0000-acme-tyk2-run2"
    result = kubectl(
        "patch", "nstrat", "pinned", "--type=merge", "-p", json.dumps({"spec": {"network": other}}), check=False
    )
    assert result.returncode != 0
    assert names_field(result.stderr, "spec.network")
    assert "immutable" in result.stderr


def test_status_is_a_subresource(crd_installed, kubectl):
    kubectl("create", "-f", "-", input=manifest("split", connectivity()))
    # A write to the main resource ignores status...
    kubectl(
        "patch", "nstrat", "split", "--type=merge", "-p", json.dumps({"status": {"status": "awake", "iterations": 7}})
    )
    body = json.loads(kubectl("get", "nstrat", "split", "-o", "json").stdout)
    assert "iterations" not in body.get("status", {})
    # ...and a status write neither touches spec nor bumps the generation.
    generation = body["metadata"]["generation"]
    kubectl(
        "patch",
        "nstrat",
        "split",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"status": "awake", "iterations": 7}, "spec": {"mode": "full"}}),
    )
    body = json.loads(kubectl("get", "nstrat", "split", "-o", "json").stdout)
    assert body["status"]["iterations"] == 7
    assert body["spec"]["mode"] == "partial"
    assert body["metadata"]["generation"] == generation


def test_get_shows_the_printer_columns(crd_installed, kubectl):
    kubectl("create", "-f", "-", input=manifest("columns", with_spec(mode="full")))
    status = {"status": "awake", "iterations": 4, "lastIteration": "2026-11-25T12:00:00Z"}
    kubectl("patch", "nstrat", "columns", "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))

    table = kubectl("get", "networkstrategies").stdout.splitlines()
    header = re.split(r"\s{2,}", table[0].strip())
    assert header == ["NAME", "NETWORK", "MODE", "STATUS", "ITERATIONS", "LAST ITERATION", "AGE"]
    row = table[1].split()
    assert row[:5] == ["columns", NETWORK, "full", "awake", "4"]

    by_short_name = kubectl("get", "nstrat", "columns", "--no-headers").stdout.split()
    assert by_short_name[:5] == row[:5]


def test_explain_documents_the_spec(crd_installed, kubectl):
    explained = kubectl("explain", "networkstrategy.spec").stdout
    for field in (
        "network",
        "strategy",
        "mode",
        "taskScaling",
        "maxTasksPerTransformation",
        "sleepInterval",
        "server",
        "cancelTasksOnDelete",
    ):
        assert re.search(rf"^\s+{field}\s+<", explained, re.MULTILINE), f"explain lacks {field}:\n{explained}"
    assert "AlchemicalNetwork" in explained
    settings = kubectl("explain", "networkstrategy.spec.strategy.settings").stdout
    for setting in (
        "max_runs",
        "cutoff",
        "decay_rate",
        "candidacy_max_distance",
        "decay_repeat_rate",
        "decay_distance_rate",
    ):
        assert setting in settings


def test_the_chart_copy_of_the_crd_matches(crd_installed):
    chart_crd = REPO_ROOT / "charts" / "alchemiscale-strategy-operator" / "crds" / "networkstrategies.yaml"
    if not chart_crd.is_file():
        pytest.skip("the chart has no crds/ copy yet")
    assert yaml.safe_load(chart_crd.read_text()) == yaml.safe_load(
        (REPO_ROOT / "crds" / "networkstrategies.yaml").read_text()
    )


Kubectl = Callable[..., Any]
