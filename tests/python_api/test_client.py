"""The notebook API on the local control plane: every field round-trips, errors are specific."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from strategy_operator.api import WAKE_ANNOTATION
from strategy_operator.api.v1alpha1 import NetworkStrategySpec
from strategy_operator.python_api import (
    AmbiguousNetworkStrategy,
    ClusterUnreachable,
    CRDNotInstalled,
    Forbidden,
    InvalidNetworkStrategy,
    NetworkStrategyClient,
    NetworkStrategyError,
    NetworkStrategyNotFound,
    Unauthorized,
    resource_name,
)

NETWORK = "AlchemicalNetwork-0a1b2c3d4e5f-acme-tyk2-run1"
OTHER = "AlchemicalNetwork-99887766-acme-tyk2-run2"


def kubectl_yaml(kubectl, name: str) -> dict:
    return yaml.safe_load(kubectl("get", "nstrat", name, "-o", "yaml").stdout)


def test_every_field_round_trips_and_matches_kubectl(asc, kubectl):
    name = asc.set_network_strategy(
        NETWORK,
        strategy="RadialGrowthStrategy",
        settings={"max_runs": 4, "decay_distance_rate": 0.25},
        mode="full",
        task_scaling="linear",
        max_tasks_per_transformation=7,
        sleep_interval=900,
        server={"url": "https://alchemiscale.example.org", "credentialsSecret": "creds"},
        cancel_tasks_on_delete=True,
        take_over_server_strategy=True,
    )
    assert name == resource_name(NETWORK)
    expected = NetworkStrategySpec.model_validate(
        {
            "network": NETWORK,
            "strategy": {"name": "RadialGrowthStrategy", "settings": {"max_runs": 4, "decay_distance_rate": 0.25}},
            "mode": "full",
            "taskScaling": "linear",
            "maxTasksPerTransformation": 7,
            "sleepInterval": 900,
            "server": {"url": "https://alchemiscale.example.org", "credentialsSecret": "creds"},
            "cancelTasksOnDelete": True,
            "takeOverServerStrategy": True,
        }
    )
    resource = asc.get_network_strategy_resource(NETWORK)
    assert resource.spec == expected
    on_server = kubectl_yaml(kubectl, name)
    assert on_server["spec"] == expected.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert NetworkStrategySpec.model_validate(on_server["spec"]) == resource.spec
    assert asc.get_network_strategy(NETWORK) == expected.strategy
    state = asc.get_network_strategy_state(NETWORK)
    assert (state.status, state.iterations, state.last_iteration, state.exception) == ("awake", 0, None, None)
    assert (state.mode, state.task_scaling, state.max_tasks_per_transformation, state.sleep_interval) == (
        "full",
        "linear",
        7,
        900,
    )


def test_setting_again_replaces_the_strategy_like_upstream_and_keeps_the_rest(asc, kubectl):
    name = asc.set_network_strategy(
        NETWORK,
        strategy={"name": "ConnectivityStrategy", "settings": {"cutoff": 0.1}},
        mode="full",
        sleep_interval=600,
        server={"credentialsSecret": "creds"},
    )
    kubectl("annotate", "nstrat", name, "example.org/owner=alice")
    kubectl("patch", "nstrat", name, "--type=merge", "-p", '{"metadata":{"finalizers":["example.org/keep"]}}')
    assert asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", max_tasks_per_transformation=10) == name
    spec = kubectl_yaml(kubectl, name)
    assert spec["spec"] == {
        "network": NETWORK,
        "strategy": {"name": "ConnectivityStrategy"},
        "mode": "partial",
        "taskScaling": "exponential",
        "maxTasksPerTransformation": 10,
        "sleepInterval": 3600,
        "server": {"credentialsSecret": "creds"},
        "cancelTasksOnDelete": False,
        "takeOverServerStrategy": False,
    }
    assert spec["metadata"]["annotations"]["example.org/owner"] == "alice"
    assert spec["metadata"]["finalizers"] == ["example.org/keep"]
    assert len(asc.list_network_strategies()) == 1
    kubectl("patch", "nstrat", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')


def test_state_status_and_wake_follow_the_operator_s_status(asc, kubectl):
    name = asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")
    status = {
        "status": "error",
        "iterations": 4,
        "lastIteration": "2026-11-25T12:00:00Z",
        "lastIterationResultCount": 17,
        "exception": {"type": "StrategyError", "message": "weights unusable"},
        "traceback": "Traceback (most recent call last):\n  ...\nStrategyError: weights unusable\n",
    }
    kubectl("patch", "nstrat", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    state = asc.get_network_strategy_state(NETWORK)
    assert state.status == "error" and state.iterations == 4
    assert state.last_iteration == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert state.last_iteration_result_count == 17
    assert state.exception == ("StrategyError", "weights unusable")
    assert state.traceback == status["traceback"]
    assert asc.get_network_strategy_status(NETWORK) == "error"

    assert asc.set_network_strategy_awake(NETWORK) == NETWORK
    first = kubectl_yaml(kubectl, name)["metadata"]["annotations"][WAKE_ANNOTATION]
    asc.set_network_strategy_awake(NETWORK)
    assert kubectl_yaml(kubectl, name)["metadata"]["annotations"][WAKE_ANNOTATION] != first  # each call wakes once


def test_removal_and_a_network_without_a_strategy(asc, kubectl):
    assert asc.get_network_strategy(NETWORK) is None
    assert asc.get_network_strategy_state(NETWORK) is None
    assert asc.get_network_strategy_status(NETWORK) is None
    assert asc.set_network_strategy_awake(NETWORK) is None
    with pytest.raises(NetworkStrategyNotFound, match="has no NetworkStrategy in namespace"):
        asc.delete_network_strategy(NETWORK)
    name = asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")
    assert asc.delete_network_strategy(NETWORK) == name
    assert kubectl("get", "nstrat", "-o", "name").stdout == ""
    asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", name="mine")
    assert asc.set_network_strategy(NETWORK, None) is None  # upstream's way to remove
    assert kubectl("get", "nstrat", "-o", "name").stdout == ""


def manifest(name: str, network: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "alchemiscale.org/v1alpha1",
            "kind": "NetworkStrategy",
            "metadata": {"name": name},
            "spec": {"network": network, "strategy": {"name": "ConnectivityStrategy"}},
        }
    )


def test_two_resources_on_one_network_are_an_error_naming_both(asc, kubectl):
    kubectl("apply", "-f", "-", input=manifest("first", NETWORK))
    kubectl("apply", "-f", "-", input=manifest("second", NETWORK))
    for call in (asc.get_network_strategy, asc.get_network_strategy_state, asc.set_network_strategy_awake):
        with pytest.raises(AmbiguousNetworkStrategy, match=r"has 2 NetworkStrategies .*\(first, second\)"):
            call(NETWORK)
    with pytest.raises(AmbiguousNetworkStrategy):
        asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")


def test_a_name_taken_by_another_network_or_a_second_name_is_refused(asc, kubectl):
    kubectl("apply", "-f", "-", input=manifest(resource_name(NETWORK), OTHER))
    with pytest.raises(AmbiguousNetworkStrategy, match=f"already exists for network {OTHER}; pass another name="):
        asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")
    assert asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", name="tyk2") == "tyk2"
    with pytest.raises(AmbiguousNetworkStrategy, match="already has NetworkStrategy .*/tyk2; pass name='tyk2'"):
        asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", name="another")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "NoSuchStrategy"}, "strategy.name"),
        ({"strategy": "ConnectivityStrategy", "settings": {"max_runs": 0}}, "max_runs"),
        ({"strategy": "ConnectivityStrategy", "settings": {"candidacy_max_distance": 2}}, "candidacy_max_distance"),
        ({"strategy": "ConnectivityStrategy", "max_tasks_per_transformation": 0}, "max_tasks_per_transformation: "),
        ({"strategy": "ConnectivityStrategy", "mode": "sometimes"}, "mode"),
        ({"strategy": "ConnectivityStrategy", "server": {"url": "https://x.example.org"}}, "credentialsSecret"),
        ({"strategy": 42}, "strategy: expected a strategy name"),
        ({}, "strategy: required"),
    ],
)
def test_bad_arguments_name_the_field_and_write_nothing(asc, kubectl, kwargs, message):
    with pytest.raises(InvalidNetworkStrategy, match=message):
        asc.set_network_strategy(NETWORK, **kwargs)
    assert kubectl("get", "nstrat", "-o", "name").stdout == ""


def test_a_malformed_network_key_is_refused_by_name(asc):
    with pytest.raises(InvalidNetworkStrategy, match="network: "):
        asc.get_network_strategy_state("Transformation-abc-acme-tyk2-run1")


def kubeconfig_for(control_plane, path: Path, token: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "user",
                "clusters": [
                    {
                        "name": "local",
                        "cluster": {
                            "server": control_plane.server_url,
                            "certificate-authority": str(control_plane.ca_file),
                        },
                    }
                ],
                "users": [{"name": "user", "user": {"token": token}}],
                "contexts": [{"name": "user", "context": {"cluster": "local", "user": "user"}}],
            }
        )
    )
    return path


def test_forbidden_for_a_restricted_service_account(control_plane, crd_installed, namespace, kubectl, asc, tmp_path):
    asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")
    kubectl("create", "serviceaccount", "reader")
    kubectl("create", "role", "nstrat-reader", "--verb=get,list,watch", "--resource=networkstrategies")
    kubectl("create", "rolebinding", "reader", "--role=nstrat-reader", f"--serviceaccount={namespace}:reader")
    kubectl("create", "serviceaccount", "nobody")
    reader_config = kubeconfig_for(
        control_plane, tmp_path / "reader", kubectl("create", "token", "reader", "--duration=1h").stdout.strip()
    )
    nobody_config = kubeconfig_for(
        control_plane, tmp_path / "nobody", kubectl("create", "token", "nobody", "--duration=1h").stdout.strip()
    )

    with NetworkStrategyClient(namespace=namespace, kubeconfig=str(reader_config)) as reader:
        assert reader.get_network_strategy_status(NETWORK) == "awake"
        with pytest.raises(Forbidden, match=f"cannot update {namespace}/.*cannot update resource"):
            reader.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", mode="full")
        with pytest.raises(Forbidden, match="cannot create"):
            reader.set_network_strategy(OTHER, strategy="ConnectivityStrategy")
        with pytest.raises(Forbidden, match="cannot annotate"):
            reader.set_network_strategy_awake(NETWORK)
    with NetworkStrategyClient(namespace=namespace, kubeconfig=str(nobody_config)) as nobody:
        with pytest.raises(Forbidden, match=f"cannot list NetworkStrategies in {namespace}"):
            nobody.get_network_strategy_state(NETWORK)
    assert kubectl_yaml(kubectl, resource_name(NETWORK))["spec"]["mode"] == "partial"


def test_no_cluster_is_a_clear_error(tmp_path):
    with pytest.raises(ClusterUnreachable, match="cannot load the kubeconfig"):
        NetworkStrategyClient(kubeconfig=str(tmp_path / "missing"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        config = tmp_path / "dead"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "dead",
                    "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                    "users": [{"name": "u", "user": {"token": "t"}}],
                    "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u", "namespace": "ns1"}}],
                }
            )
        )
        with NetworkStrategyClient(kubeconfig=str(config)) as client:
            assert client.namespace == "ns1"
            with pytest.raises(ClusterUnreachable, match=f"127.0.0.1:{port} does not answer"):
                client.get_network_strategy_state(NETWORK)


def test_a_cluster_without_the_crd_says_to_install_it(tmp_path):
    from strategy_operator_dev.controlplane import ControlPlane

    with ControlPlane.start(tmp_path / "bare") as bare:
        with NetworkStrategyClient(namespace="default", kubeconfig=str(bare.kubeconfig)) as client:
            with pytest.raises(CRDNotInstalled, match="install the operator's chart or its CRD"):
                client.set_network_strategy(NETWORK, strategy="ConnectivityStrategy")


def test_an_unknown_token_is_unauthorized(control_plane, crd_installed, tmp_path):
    config = kubeconfig_for(control_plane, tmp_path / "stranger", "not-a-token")
    with NetworkStrategyClient(namespace="default", kubeconfig=str(config)) as stranger:
        with pytest.raises(Unauthorized, match="did not accept the kubeconfig's credentials"):
            stranger.get_network_strategy_state(NETWORK)


def test_a_namespace_that_does_not_exist_is_named(asc):
    with pytest.raises(
        NetworkStrategyError, match='cannot create no-such-namespace/.*HTTP 404.*"no-such-namespace" not found'
    ):
        asc.set_network_strategy(NETWORK, strategy="ConnectivityStrategy", namespace="no-such-namespace")
