"""Version v1alpha1 of the NetworkStrategy API: the spec in `spec`, the status in `status`.

These pydantic models are the single source of truth: `strategy-operator crd` renders the
CustomResourceDefinition's schema from them, the operator parses specs and builds its status
with them, so the API server and the operator agree on every field.
"""

from strategy_operator.api.v1alpha1.fields import Timestamp, format_rfc3339
from strategy_operator.api.v1alpha1.spec import NetworkStrategySpec, ServerSpec, StrategySpec
from strategy_operator.api.v1alpha1.status import (
    Condition,
    ExceptionInfo,
    IterationSummary,
    NetworkStrategyStatus,
    NetworkTaskCounts,
    Status,
)

__all__ = [
    "Condition",
    "ExceptionInfo",
    "IterationSummary",
    "NetworkStrategySpec",
    "NetworkStrategyStatus",
    "NetworkTaskCounts",
    "ServerSpec",
    "Status",
    "StrategySpec",
    "Timestamp",
    "format_rfc3339",
]
