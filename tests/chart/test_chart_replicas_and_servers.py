"""Replicas need leader election, which the chart wires with its own Lease and RBAC; the
allow-list of servers reaches the operator."""

from __future__ import annotations

from strategy_operator.controller import config as operator_settings

from .chart_helpers import Render, one


def _env(objects) -> dict[str, str]:
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_more_than_one_replica_without_leader_election_is_refused_with_the_reason(render_error) -> None:
    error = render_error({"replicaCount": 2})
    assert "replicaCount > 1 needs leaderElection.enabled=true" in error
    assert "maxTasksPerTransformation" in error


def test_the_default_is_one_replica_recreated_without_a_lease(render: Render) -> None:
    objects = render()
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert not [
        r for o in objects if o["kind"] == "Role" for r in o["rules"] if "coordination.k8s.io" in r["apiGroups"]
    ]
    assert "STRATEGY_OPERATOR_LEADER_ELECTION" not in _env(objects)


def test_leader_election_wires_the_lease_its_rbac_and_rolling_updates(render: Render) -> None:
    objects = render({"replicaCount": 2, "leaderElection": {"enabled": True, "leaseDuration": 20}})
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2 and deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = _env(objects)
    lease = "aso-alchemiscale-strategy-operator"
    assert env["STRATEGY_OPERATOR_LEADER_ELECTION"] == "true"
    assert env["STRATEGY_OPERATOR_LEADER_ELECTION_LEASE"] == lease
    parsed = operator_settings.from_arguments(None, {**env, "STRATEGY_OPERATOR_NAMESPACE": "ops"})
    assert parsed.leader_election and parsed.leader_election_lease == lease
    assert parsed.leader_election_lease_duration == 20 and parsed.operator_namespace == "ops"
    (role,) = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("-leader-election")]
    assert role["metadata"]["namespace"] == "ops"
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [lease],
            "verbs": ["get", "update"],
        },
    ]
    (binding,) = [
        o for o in objects if o["kind"] == "RoleBinding" and o["metadata"]["name"] == role["metadata"]["name"]
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_allowed_servers_reach_the_operator(render: Render) -> None:
    servers = ["https://alchemiscale.example.org", "https://staging.example.org/api"]
    env = _env(render({"alchemiscale": {"server": servers[0], "allowedServers": servers}}))
    assert operator_settings.from_arguments(None, env).allowed_servers == tuple(servers)
    assert "STRATEGY_OPERATOR_ALLOWED_SERVERS" not in _env(render())
