"""Snapshot -> engine plan -> execution, iterated against the sandbox until the strategy rests.

Not the operator (no Kubernetes): just this package and the engine, checking that what the
snapshotter reports and what execution does agree with the server after every step.
"""

from __future__ import annotations

from strategy_operator.alchemiscale import NetworkSnapshotter, build_snapshot, execute_plan
from strategy_operator.engine import Snapshot, plan_iteration
from strategy_operator.scopedkey import ScopedKey

from .alchemiscale_helpers import SCOPE


def _compute_everything(state, network: str) -> None:
    """A compute service that runs every claimable task of the network to success."""
    for task in list(state.claimable_tasks(network)):
        state.claim_task(task)
        state.complete_task(task, ok=True)


async def test_iterations_converge_with_exact_counts(sandbox, client) -> None:
    state = sandbox.state
    network = state.generate_network(shape="path", systems=5, scope=SCOPE, seed=11)
    transformations = state.transformations(network)
    snapshotter = NetworkSnapshotter(client, network)
    status, last_count = "awake", 0
    for iteration in range(20):  # noqa: B007 - read after the loop
        observation = await snapshotter.observe()
        # What the snapshot says matches the server exactly.
        assert observation.result_count == sum(len(state.transformation_results(t)) for t in transformations)
        hub = set(state.actioned_tasks(ScopedKey.from_str(network)))
        assert {t.key for t in observation.tasks if t.actioned} == hub
        document = build_snapshot(
            observation,
            strategy={"name": "ConnectivityStrategy", "settings": {"max_runs": 2}},
            mode="full",
            max_tasks_per_transformation=2,
            state={"status": status, "lastIterationResultCount": last_count},
        )
        plan = plan_iteration(Snapshot.model_validate(document))
        status, last_count = plan.status, plan.result_count
        if plan.ran:
            report = await execute_plan(client, network, plan)
            assert report.created == sum(plan.create.values())
            for transformation, target in plan.targets.items():
                actioned = [
                    t
                    for t in state.actioned_tasks(ScopedKey.from_str(network))
                    if state.task_transformation(t) == transformation
                ]
                assert len(actioned) == target  # full mode, no errored tasks: exactly on target
        if status == "dormant":
            break
        _compute_everything(state, network)
    assert status == "dormant", f"not dormant after {iteration + 1} iterations"
    assert all(len(state.transformation_results(t)) >= 2 for t in transformations)
    assert state.actioned_tasks(ScopedKey.from_str(network)) == {}
