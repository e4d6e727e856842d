"""The user guide's example workflow, written with the Python API, against the running operator."""

from __future__ import annotations

from strategy_operator.api.v1alpha1 import StrategySpec
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


def test_the_guide_s_strategy_objects_run(sandbox, cluster, start_operator, control_plane, namespace):
    """The guide's `ConnectivityStrategy(...)` and `RadialGrowthStrategy(...)` objects, run by the operator."""
    from stratocaster.strategies import ConnectivityStrategy, RadialGrowthStrategy
    from stratocaster.strategies.connectivity import ConnectivityStrategySettings
    from stratocaster.strategies.radialgrowth import RadialGrowthStrategySettings

    network_sk = sandbox.state.generate_network("star", systems=5, scope="acme-tyk2-run1", seed=3)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    asc = NetworkStrategyClient(namespace=namespace, kubeconfig=str(control_plane.kubeconfig))

    # As the guide writes it; the credentials are kept by the later calls.
    strategy = ConnectivityStrategy(ConnectivityStrategy.default_settings())
    name = asc.set_network_strategy(
        network=network_sk,
        strategy=strategy,
        max_tasks_per_transformation=5,
        server={"credentialsSecret": "alchemiscale-creds"},
    )
    assert asc.get_network_strategy(network_sk) == StrategySpec(
        name="ConnectivityStrategy", settings={"decay_rate": 0.5, "max_runs": 3}
    )
    wait_for(lambda: asc.get_network_strategy_state(network_sk).iterations >= 1, timeout=60, what="an iteration")
    first = actioned_by_transformation(sandbox.state, network_sk)
    assert first and max(first.values()) <= 5
    assert asc.get_network_strategy_status(network_sk) == "awake"

    for iteration, strategy in enumerate(
        [
            ConnectivityStrategy(ConnectivityStrategySettings(max_runs=2, decay_rate=0.25)),
            RadialGrowthStrategy(RadialGrowthStrategySettings(max_runs=4, candidacy_max_distance=2)),
        ],
        start=2,
    ):
        assert asc.set_network_strategy(network_sk, strategy, max_tasks_per_transformation=5) == name
        generation = cluster.resource(name)["metadata"]["generation"]
        asc.set_network_strategy_awake(network_sk)
        wait_for(
            lambda: (
                cluster.status(name).get("observedGeneration") == generation
                and asc.get_network_strategy_state(network_sk).iterations >= iteration
            ),
            timeout=60,
            what=f"an iteration of {type(strategy).__name__}",
        )
        fetched = asc.get_network_strategy(network_sk)
        assert fetched.name == type(strategy).__name__
        assert fetched.resolved_settings().model_dump(mode="json") == strategy.settings.model_dump(mode="json")
        state = asc.get_network_strategy_state(network_sk)
        assert state.exception is None and state.status == "awake", state

    asc.set_network_strategy(network_sk, None)
    wait_for(lambda: not cluster.resource(name), timeout=60, what="the resource to be gone")
    asc.close()
