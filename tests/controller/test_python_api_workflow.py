"""The user guide's example workflow, written with the Python API, against the running operator."""

from __future__ import annotations

from strategy_operator.python_api import NetworkStrategyClient, resource_name

from .operator_harness import IDENTITY, KEY, OPERATOR_E2E, actioned_by_transformation, wait_for

pytestmark = OPERATOR_E2E


def test_the_guide_s_example_workflow(sandbox, cluster, start_operator, control_plane, namespace):
    network_sk = sandbox.state.generate_network("star", systems=5, scope="acme-tyk2-run1", seed=2)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    asc = NetworkStrategyClient(namespace=namespace, kubeconfig=str(control_plane.kubeconfig))

    # Create and attach a conservative connectivity strategy.
    name = asc.set_network_strategy(
        network=network_sk,
        strategy="ConnectivityStrategy",
        mode="partial",
        task_scaling="linear",
        max_tasks_per_transformation=3,
        sleep_interval=1800,
        server={"credentialsSecret": "alchemiscale-creds"},
    )
    assert name == resource_name(network_sk)

    # Monitor progress.
    state = wait_for(
        lambda: (s := asc.get_network_strategy_state(network_sk)).iterations >= 1 and s,
        timeout=60,
        what="the first iteration",
    )
    assert state.status == "awake" and state.last_iteration is not None
    assert asc.get_network_strategy_status(network_sk) == "awake"
    first = actioned_by_transformation(sandbox.state, network_sk)
    assert first and max(first.values()) <= 3

    # Later, more aggressive optimisation; waking applies it now instead of in 30 minutes.
    asc.set_network_strategy(
        network=network_sk,
        strategy="ConnectivityStrategy",
        mode="full",
        task_scaling="exponential",
        max_tasks_per_transformation=10,
    )
    generation = cluster.resource(name)["metadata"]["generation"]
    asc.set_network_strategy_awake(network_sk)
    wait_for(
        lambda: (
            cluster.status(name).get("observedGeneration") == generation
            and (asc.get_network_strategy_state(network_sk).iterations >= 2)
        ),
        timeout=60,
        what="an iteration with the new settings",
    )
    state = asc.get_network_strategy_state(network_sk)
    assert (state.mode, state.task_scaling, state.max_tasks_per_transformation, state.sleep_interval) == (
        "full",
        "exponential",
        10,
        3600,
    )
    assert state.exception is None and state.status == "awake"

    assert asc.delete_network_strategy(network_sk) == name
    wait_for(lambda: not cluster.resource(name), timeout=60, what="the resource to be gone")
    assert asc.get_network_strategy_state(network_sk) is None
    asc.close()
