"""The operator's plan execution and upstream's unmodified Strategist, side by side on twins.

Two identical networks (the same gufe objects, so the same keys) in two scopes of the real
alchemiscale 0.8.0 server: upstream's `StrategistService` iterates one, the operator's
engine and client iterate the other, the real compute service runs every actioned task of
both between iterations, and after every step the two must be in the same state: per
transformation the tasks by status and actioned-ness, which of the tasks that existed before
the strategy started were picked, and the strategy's status.
"""

from __future__ import annotations

import uuid

import pytest

from strategy_operator.alchemiscale import (
    AlchemiscaleClient,
    Credentials,
    NetworkSnapshotter,
    build_snapshot,
    execute_plan,
)
from strategy_operator.engine import Snapshot, plan_iteration

SETTINGS = {"max_runs": 2}
MAX_STEPS = 8
TRANSFORMATIONS = 4


def _strip(sk: str) -> str:
    """The gufe key of a scoped key: the same object in both twins."""
    qualname, token = sk.split("-")[:2]
    return f"{qualname}-{token}"


async def _state(client: AlchemiscaleClient, network: str, transformations: list[str], preexisting: list[str]) -> dict:
    actioned = set(await client.network_actioned_tasks(network))
    per_transformation = {}
    for transformation in transformations:
        tasks = await client.transformation_tasks(transformation)
        statuses = await client.tasks_status(tasks)
        per_transformation[_strip(transformation)] = sorted(
            (status, task in actioned) for task, status in zip(tasks, statuses, strict=True)
        )
    picked = [index for index, task in enumerate(preexisting) if task in actioned]
    return {"tasks": per_transformation, "preexisting actioned (by creation order)": picked}


@pytest.mark.parametrize("mode", ["partial", "full"])
@pytest.mark.parametrize("strategy", ["ConnectivityStrategy", "RadialGrowthStrategy"])
async def test_same_server_state_after_every_step(real_alchemiscale, strategy, mode) -> None:
    stack = real_alchemiscale
    tag = uuid.uuid4().hex[:8]
    twins = {}
    for side in ("upstream", "operator"):
        twins[side] = stack.driver(
            "create_network",
            {
                "scope": f"acme-{side[:2]}{tag}-run1",
                "name": "twin",
                "systems": TRANSFORMATIONS + 1,
            },
        )
    # Tasks that exist before the strategy starts, created oldest first in both twins: among
    # equal tasks upstream picks in database order.
    preexisting = {
        side: stack.driver("create_tasks", {"transformations": [twin["transformations"][0]] * 3})["tasks"]
        for side, twin in twins.items()
    }
    up, op = twins["upstream"], twins["operator"]
    stack.driver(
        "set_strategy",
        {
            "network": up["network"],
            "name": strategy,
            "settings": SETTINGS,
            "mode": mode,
            "max_tasks_per_transformation": 2,
            "task_scaling": "exponential",
        },
    )

    admin = Credentials(stack.admin.identifier, stack.admin.key)
    async with (
        AlchemiscaleClient(stack.user_api_url, Credentials(stack.user.identifier, stack.user.key)) as client,
        AlchemiscaleClient(stack.user_api_url, admin) as reader,
    ):
        snapshotter = NetworkSnapshotter(client, op["network"])
        operator_state = {"status": "awake", "lastIterationResultCount": 0}
        history = []
        for step in range(MAX_STEPS):
            upstream = stack.driver("strategist_iteration", {"network": up["network"]})
            assert upstream["exception"] is None, upstream

            observation = await snapshotter.observe()
            document = build_snapshot(
                observation,
                strategy={"name": strategy, "settings": SETTINGS},
                mode=mode,
                task_scaling="exponential",
                max_tasks_per_transformation=2,
                state=operator_state,
            )
            plan = plan_iteration(Snapshot.model_validate(document))
            await execute_plan(client, op["network"], plan)
            if plan.ran:
                operator_state = {"status": plan.status, "lastIterationResultCount": plan.result_count}

            sides = {
                "upstream": await _state(reader, up["network"], up["transformations"], preexisting["upstream"]),
                "operator": await _state(reader, op["network"], op["transformations"], preexisting["operator"]),
            }
            sides["upstream"]["status"] = upstream["status"]
            sides["operator"]["status"] = operator_state["status"]
            history.append(sides)
            assert sides["operator"] == sides["upstream"], f"step {step}: {sides}"
            if upstream["status"] == "dormant":
                break
            stack.driver("compute", {"scopes": [f"acme-up{tag}-run1", f"acme-op{tag}-run1"]})
        assert history[-1]["upstream"]["status"] == "dormant", history
