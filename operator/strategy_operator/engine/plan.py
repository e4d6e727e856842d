"""The plan (docs/engine.md, "Plan (output)"): what one iteration decided, before anything is done."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

from strategy_operator.engine.vocabulary import StrategyStatus


@dataclass(frozen=True)
class PlanSummary:
    transformations_weighted: int
    """Transformations with a non-null weight after the errored filter."""
    transformations_finished: int
    """Transformations the strategy itself gave weight null (done)."""
    transformations_blocked: int
    """Transformations the strategy weighted but that have errored tasks, so get no tasks."""
    tasks_to_action: int
    tasks_to_create: int
    tasks_to_cancel: int
    tasks_deferred: int
    """Tasks the plan needs but did not create this iteration (the snapshot's `maxTasksCreated`)."""


class Plan(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    ran: bool
    status: StrategyStatus
    result_count: int
    weights: dict[str, float | None] = {}
    targets: dict[str, int] = {}
    action: list[str] = []
    create: dict[str, int] = {}
    cancel: list[str] = []
    deferred: dict[str, int] = {}

    _blocked: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @classmethod
    def with_blocked(cls, blocked: frozenset[str], **fields) -> Plan:
        plan = cls(**fields)
        plan._blocked = blocked
        return plan

    @property
    def blocked(self) -> frozenset[str]:
        """Transformations held at 0 tasks by errored tasks (docs/engine.md, "One iteration", step 6)."""
        return self._blocked

    @property
    def summary(self) -> PlanSummary:
        weighted = sum(1 for w in self.weights.values() if w is not None)
        nulls = sum(1 for w in self.weights.values() if w is None)
        return PlanSummary(
            transformations_weighted=weighted,
            transformations_finished=nulls - len(self._blocked),
            transformations_blocked=len(self._blocked),
            tasks_to_action=len(self.action),
            tasks_to_create=sum(self.create.values()),
            tasks_to_cancel=len(self.cancel),
            tasks_deferred=sum(self.deferred.values()),
        )

    def to_json(self) -> dict:
        # `deferred` only when a cap held tasks back: an uncapped plan is upstream's, key for key.
        return self.model_dump(mode="json", by_alias=True, exclude=None if self.deferred else {"deferred"})
