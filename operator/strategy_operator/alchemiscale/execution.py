"""Carry out a plan on the server: create tasks, action them with the planned ones, cancel.

Creation is the one non-idempotent step: one request per scope, never repeated when its
answer is lost (`OutcomeUnknown`). Tasks created but left unactioned that way are waiting
tasks of their transformation, which the next iteration's snapshot shows and the plan
actions instead of creating more — so a plan never leads to more tasks than it asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from strategy_operator.alchemiscale.client import AlchemiscaleClient, scoped_key
from strategy_operator.alchemiscale.errors import AlchemiscaleError, TransientError

log = logging.getLogger("strategy_operator.alchemiscale")


class PlanLike(Protocol):
    @property
    def action(self) -> Sequence[str]: ...

    @property
    def create(self) -> Mapping[str, int]: ...

    @property
    def cancel(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """Counts of what changed on the server; the keys are kept for events and debugging.

    `actioned` counts tasks whose ACTIONS link this call created (a task found already
    actioned is not counted), `created` tasks created, `cancelled` links removed.
    """

    actioned: int
    created: int
    cancelled: int
    created_tasks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    actioned_tasks: tuple[str, ...] = ()
    cancelled_tasks: tuple[str, ...] = ()


async def execute_plan(client: AlchemiscaleClient, network_key: str, plan: PlanLike) -> ExecutionReport:
    """Create, action and cancel as planned; one request per scope, then one each.

    On failure the steps that can still be done are done (tasks already created are
    actioned so they are not left behind), then the first error is raised unchanged (a
    `TransientError` stays one, so the operator retries later), with the partial
    `ExecutionReport` attached as its `partial_report` attribute.
    """
    scoped_key(network_key, what="network")
    for transformation, count in plan.create.items():
        scoped_key(transformation, what="plan.create key")
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"plan.create[{transformation!r}] must be a non-negative integer, not {count!r}")
    for name, tasks in (("action", plan.action), ("cancel", plan.cancel)):
        for task in tasks:
            scoped_key(task, what=f"plan.{name} entry")

    by_scope: dict[str, list[str]] = {}
    for transformation, count in plan.create.items():
        by_scope.setdefault(str(scoped_key(transformation).scope), []).extend([transformation] * count)

    failure: AlchemiscaleError | None = None
    created: dict[str, list[str]] = {}
    for scope in sorted(by_scope):
        try:
            tasks = await client.create_tasks(by_scope[scope])
        except AlchemiscaleError as exc:
            failure = exc
            break
        for transformation, task in zip(by_scope[scope], tasks):
            created.setdefault(transformation, []).append(task)

    to_action = list(dict.fromkeys([*plan.action, *(t for tasks in created.values() for t in tasks)]))
    actioned: list[str] = []
    cancelled: list[str] = []
    if to_action:
        try:
            answer = await client.action_tasks(network_key, to_action)
            actioned = [t for t in answer if t is not None]
        except AlchemiscaleError as exc:
            failure = failure or exc
    if plan.cancel and not isinstance(failure, TransientError):
        try:
            answer = await client.cancel_tasks(network_key, plan.cancel)
            cancelled = [t for t in answer if t is not None]
        except AlchemiscaleError as exc:
            failure = failure or exc

    report = ExecutionReport(
        actioned=len(actioned),
        created=sum(len(t) for t in created.values()),
        cancelled=len(cancelled),
        created_tasks={k: tuple(v) for k, v in created.items()},
        actioned_tasks=tuple(actioned),
        cancelled_tasks=tuple(cancelled),
    )
    if failure is not None:
        log.warning(
            "plan for %s partly carried out (%d created, %d actioned, %d cancelled): %s",
            network_key,
            report.created,
            report.actioned,
            report.cancelled,
            failure,
        )
        failure.partial_report = report  # type: ignore[attr-defined]
        raise failure
    return report
