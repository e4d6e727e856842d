"""`helm lint` and `helm template`: the chart's objects, asserted field by field.

No cluster is needed; these parse the rendered YAML and check what matters for running the
operator safely: the Deployment's shape and security context, that every value reaches the
operator as the environment variable its settings module reads, and least-privilege RBAC.
"""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import pytest

from strategy_operator.controller import config as operator_settings
from strategy_operator.scopedkey import SCOPE_PATTERN, Scope

from .chart_helpers import CHART, REPO_ROOT, Render, kinds, one

pytestmark = pytest.mark.usefixtures("helm")

WATCH_RULES = [
    {"apiGroups": ["alchemiscale.org"], "resources": ["networkstrategies"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["alchemiscale.org"], "resources": ["networkstrategies/status"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    return pod["containers"][0]


def env_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    env = container(objects)["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate environment variables: {names}"
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def plain_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {k: v for k, v in env_of(objects).items() if isinstance(v, str)}


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"operator": {"watchNamespaces": ["team-a", "team-b"]}},
        {
            "alchemiscale": {
                "server": "https://alchemiscale.example.org",
                "credentials": {"create": True, "identifier": "alice", "key": "s3cret"},
            },
            "metrics": {"serviceMonitor": {"enabled": True}},
        },
    ],
)
def test_helm_lint_strict_passes(helm: str, helm_env: dict[str, str], values: dict[str, Any]) -> None:
    args = [a for key, value in values.items() for a in ("--set-json", f"{key}={json.dumps(value)}")]
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *args], capture_output=True, text=True, timeout=60, env=helm_env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_chart_ships_the_generated_crd() -> None:
    assert (CHART / "crds" / "networkstrategies.yaml").is_file()


def test_default_install_is_one_cluster_wide_operator(render: Render) -> None:
    objects = render()
    assert kinds(objects) == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    deployment = one(objects, "Deployment")
    assert deployment["metadata"]["namespace"] == "ops"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    operator = container(objects)
    assert operator["image"] == "alchemiscale-strategy-operator:0.1.0"
    assert operator["args"] == ["run"]
    assert "command" not in operator, "the image's ENTRYPOINT (strategy-operator) must stay in charge"


def test_probes_hit_the_operator_health_endpoints_on_its_http_port(render: Render) -> None:
    operator = container(render({"operator": {"httpPort": 9090}}))
    assert operator["ports"] == [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert plain_env(render({"operator": {"httpPort": 9090}}))["STRATEGY_OPERATOR_HTTP_PORT"] == "9090"


def test_security_context_is_restricted(render: Render) -> None:
    objects = render()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(objects)["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    # A read-only root needs somewhere writable for Python's temporary files.
    mounts = {m["name"]: m["mountPath"] for m in container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["tmp"] == "/tmp" and "emptyDir" in volumes["tmp"]
    assert container(objects)["resources"]["requests"] and container(objects)["resources"]["limits"]["memory"]


def test_defaults_reach_the_operator_as_its_own_defaults(render: Render) -> None:
    env = env_of(render())
    assert env["STRATEGY_OPERATOR_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert "STRATEGY_OPERATOR_NAMESPACES" not in env, "no namespaces means all namespaces"
    parsed = operator_settings.from_arguments(None, plain_env(render()))
    defaults = operator_settings.OperatorConfig()
    assert parsed.all_namespaces
    assert parsed.min_sleep_interval == defaults.min_sleep_interval
    assert parsed.max_workers == defaults.max_workers
    assert parsed.allowed_scopes == defaults.allowed_scopes
    assert parsed.log_level == defaults.log_level
    assert parsed.http_port == defaults.http_port
    assert (parsed.tick, parsed.iteration_timeout, parsed.liveness_grace) == (
        defaults.tick,
        defaults.iteration_timeout,
        defaults.liveness_grace,
    )
    assert parsed.default_server is None and parsed.default_credentials_secret is None and parsed.ca_bundle is None


def test_every_value_reaches_the_operator_settings(render: Render, tmp_path) -> None:
    objects = render(
        {
            "operator": {
                "minSleepInterval": 60,
                "maxWorkers": 9,
                "watchNamespaces": ["team-a", "team-b"],
                "allowedScopes": ["acme-tyk2-*", "beta-*-*"],
                "logLevel": "debug",
                "httpPort": 9000,
                "tick": 2.5,
                "iterationTimeout": 120,
                "livenessGrace": 300,
                "extraEnv": [{"name": "EXTRA", "value": "1"}],
            },
            "alchemiscale": {
                "server": "https://alchemiscale.example.org",
                "credentials": {"existingSecret": "alchemiscale-operator"},
                "caBundle": {"pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
            },
        }
    )
    env = plain_env(objects)
    assert env["EXTRA"] == "1"
    bundle_path = env["STRATEGY_OPERATOR_CA_BUNDLE"]
    assert bundle_path == "/etc/strategy-operator/ca/ca.pem"
    local_bundle = tmp_path / "ca.pem"
    local_bundle.write_text("pem")
    env["STRATEGY_OPERATOR_CA_BUNDLE"] = str(local_bundle)
    env["STRATEGY_OPERATOR_NAMESPACE"] = "ops"
    parsed = operator_settings.from_arguments(None, env)
    assert parsed.min_sleep_interval == 60
    assert parsed.max_workers == 9
    assert parsed.namespaces == ("team-a", "team-b")
    assert parsed.allowed_scopes == (Scope("acme", "tyk2", None), Scope("beta", None, None))
    assert parsed.log_level == "debug"
    assert parsed.http_port == 9000
    assert (parsed.tick, parsed.iteration_timeout, parsed.liveness_grace) == (2.5, 120, 300)
    assert parsed.default_server == "https://alchemiscale.example.org"
    assert parsed.default_credentials_secret == "alchemiscale-operator"
    assert parsed.operator_namespace == "ops"


def test_watching_all_namespaces_grants_exactly_the_minimal_cluster_rules(render: Render) -> None:
    objects = render()
    role = one(objects, "ClusterRole")
    assert role["rules"] == WATCH_RULES
    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": one(objects, "ServiceAccount")["metadata"]["name"], "namespace": "ops"}
    ]
    # Cluster-scoped names carry the release namespace: two releases must not collide.
    assert role["metadata"]["name"] == "ops-aso-alchemiscale-strategy-operator"


def test_long_namespaces_get_distinct_cluster_role_names(render: Render) -> None:
    names = set()
    for namespace in ("a-very-long-namespace-name-for-team-one", "a-very-long-namespace-name-for-team-two"):
        (name,) = [o["metadata"]["name"] for o in render(namespace=namespace) if o["kind"] == "ClusterRole"]
        assert len(name) <= 63
        names.add(name)
    assert len(names) == 2


def test_no_rule_uses_wildcards_or_lists_secrets(render: Render) -> None:
    for values in (
        {},
        {"operator": {"watchNamespaces": ["a"]}},
        {"alchemiscale": {"credentials": {"existingSecret": "c"}}},
    ):
        for obj in render(values):
            for rule in obj.get("rules", []):
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], (obj["kind"], rule)
                if "secrets" in rule["resources"]:
                    assert rule["verbs"] == ["get"], rule
                assert not set(rule["verbs"]) & {"delete", "deletecollection", "update", "create"} or (
                    rule["resources"] == ["events"] and rule["verbs"] == ["create"]
                ), rule


def test_watching_given_namespaces_uses_roles_there_and_nothing_cluster_wide(render: Render) -> None:
    objects = render({"operator": {"watchNamespaces": ["team-a", "team-b"]}})
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    roles = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "Role"}
    bindings = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "RoleBinding"}
    assert set(roles) == set(bindings) == {"team-a", "team-b"}
    for namespace in ("team-a", "team-b"):
        assert roles[namespace]["rules"] == WATCH_RULES
        assert bindings[namespace]["roleRef"]["name"] == roles[namespace]["metadata"]["name"]
        assert bindings[namespace]["subjects"] == [
            {"kind": "ServiceAccount", "name": "aso-alchemiscale-strategy-operator", "namespace": "ops"}
        ]
    assert plain_env(objects)["STRATEGY_OPERATOR_NAMESPACES"] == "team-a,team-b"


def test_secret_access_can_be_narrowed_to_names_or_dropped(render: Render) -> None:
    narrowed = one(render({"rbac": {"credentialsSecretNames": ["alchemiscale-credentials"]}}), "ClusterRole")
    assert narrowed["rules"][-1] == {
        "apiGroups": [""],
        "resources": ["secrets"],
        "verbs": ["get"],
        "resourceNames": ["alchemiscale-credentials"],
    }
    dropped = one(render({"rbac": {"readCredentialsSecrets": False}}), "ClusterRole")
    assert dropped["rules"] == WATCH_RULES[:3]


def test_nothing_cluster_wide_beyond_the_operators_own_resources(render: Render) -> None:
    # Kopf's CRD and namespace scanning is off, so neither needs a grant.
    for values in ({}, {"operator": {"watchNamespaces": ["a"]}}):
        text = json.dumps(render(values))
        assert "customresourcedefinitions" not in text and '"namespaces"' not in text


def test_rbac_and_service_account_can_be_brought_by_the_user(render: Render) -> None:
    objects = render({"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "mine"}})
    assert kinds(objects) == ["Deployment", "Service"]
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "mine"


def test_chart_created_credentials_secret(render: Render) -> None:
    objects = render(
        {
            "alchemiscale": {
                "server": "https://a.example.org",
                "credentials": {"create": True, "identifier": "alice", "key": "s3cret"},
            }
        }
    )
    secret = one(objects, "Secret")
    assert secret["metadata"]["name"] == "aso-alchemiscale-strategy-operator-credentials"
    assert secret["metadata"]["namespace"] == "ops"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "identifier": "alice",
        "key": "s3cret",
    }
    env = plain_env(objects)
    assert env["STRATEGY_OPERATOR_DEFAULT_CREDENTIALS_SECRET"] == secret["metadata"]["name"]
    assert "s3cret" not in json.dumps(one(objects, "Deployment")), "the key must reach the pod only via the Secret"
    role = one(objects, "Role", "aso-alchemiscale-strategy-operator-credentials")
    assert role["metadata"]["namespace"] == "ops"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret["metadata"]["name"]], "verbs": ["get"]}
    ]
    assert (
        one(objects, "RoleBinding", "aso-alchemiscale-strategy-operator-credentials")["roleRef"]["name"]
        == role["metadata"]["name"]
    )


def test_existing_credentials_secret_is_referenced_not_created(render: Render) -> None:
    objects = render({"alchemiscale": {"credentials": {"existingSecret": "team-creds"}}})
    assert not [o for o in objects if o["kind"] == "Secret"]
    assert plain_env(objects)["STRATEGY_OPERATOR_DEFAULT_CREDENTIALS_SECRET"] == "team-creds"
    role = one(objects, "Role", "aso-alchemiscale-strategy-operator-credentials")
    assert role["rules"][0]["resourceNames"] == ["team-creds"]


def test_ca_bundle_from_pem_or_existing_config_map(render: Render) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    objects = render({"alchemiscale": {"caBundle": {"pem": pem}}})
    config_map = one(objects, "ConfigMap")
    assert config_map["data"]["ca.pem"] == pem
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    volume = {v["name"]: v for v in pod["volumes"]}["ca-bundle"]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = {m["name"]: m for m in container(objects)["volumeMounts"]}["ca-bundle"]
    assert mount["readOnly"] is True and mount["mountPath"] == "/etc/strategy-operator/ca"

    existing = render({"alchemiscale": {"caBundle": {"existingConfigMap": "corp-ca", "key": "bundle.crt"}}})
    assert not [o for o in existing if o["kind"] == "ConfigMap"]
    assert plain_env(existing)["STRATEGY_OPERATOR_CA_BUNDLE"] == "/etc/strategy-operator/ca/bundle.crt"
    pod = one(existing, "Deployment")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["ca-bundle"]["configMap"] == {
        "name": "corp-ca",
        "items": [{"key": "bundle.crt", "path": "bundle.crt"}],
    }


def test_metrics_service_and_optional_service_monitor(render: Render) -> None:
    objects = render({"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}})
    service = one(objects, "Service")
    deployment = one(objects, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [{"name": "http-metrics", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert not [o for o in render() if o["kind"] == "ServiceMonitor"]
    assert not [o for o in render({"metrics": {"service": {"enabled": False}}}) if o["kind"] == "Service"]


def test_image_digest_pins_the_image(render: Render) -> None:
    digest = "sha256:" + "a" * 64
    assert (
        container(render({"image": {"repository": "reg.example/aso", "digest": digest}}))["image"]
        == f"reg.example/aso@{digest}"
    )
    assert (
        container(render({"image": {"repository": "reg.example/aso", "tag": "1.2.3"}}))["image"]
        == "reg.example/aso:1.2.3"
    )


def test_schema_scope_pattern_is_the_operators() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["properties"]["operator"]["properties"]["allowedScopes"]["items"]["pattern"] == SCOPE_PATTERN


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"operator": {"maxWorkers": 0}}, "/operator/maxWorkers"),
        ({"operator": {"minSleepInterval": "5m"}}, "/operator/minSleepInterval"),
        ({"operator": {"logLevel": "verbose"}}, "/operator/logLevel"),
        ({"operator": {"allowedScopes": ["acme-*-tyk2"]}}, "/operator/allowedScopes/0"),
        ({"operator": {"allowedScopes": []}}, "/operator/allowedScopes"),
        ({"operator": {"watchNamespaces": ["Team_A"]}}, "/operator/watchNamespaces/0"),
        ({"operator": {"httpPort": 80}}, "/operator/httpPort"),
        ({"operator": {"maxWorker": 3}}, "maxWorker"),
        ({"alchemiscale": {"server": "alchemiscale.example.org"}}, "/alchemiscale/server"),
        ({"alchemiscale": {"credentials": {"create": True}}}, "/alchemiscale/credentials/identifier"),
        (
            {"alchemiscale": {"credentials": {"create": True, "identifier": "a", "key": "k", "existingSecret": "s"}}},
            "/alchemiscale/credentials/existingSecret",
        ),
        ({"alchemiscale": {"caBundle": {"pem": "not a certificate"}}}, "/alchemiscale/caBundle/pem"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"securityContext": {"allowPrivilegeEscalation": True}}, "/securityContext/allowPrivilegeEscalation"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot"),
        ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "/metrics/serviceMonitor/interval"),
    ],
)
def test_schema_rejects_bad_values_naming_the_field(render_error, values: dict[str, Any], message: str) -> None:
    error = render_error(values)
    assert "values don't meet the specifications of the schema" in error
    assert message in error, error


def test_service_monitor_without_service_fails_with_a_reason(render_error) -> None:
    error = render_error({"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}})
    assert "metrics.serviceMonitor.enabled needs metrics.service.enabled" in error


def test_chart_app_version_is_the_packages_version() -> None:
    import tomllib

    import yaml

    from strategy_operator import __version__

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    # The default image tag is the appVersion: it must name the image built from this source.
    assert chart["appVersion"] == __version__ == pyproject["project"]["version"]
