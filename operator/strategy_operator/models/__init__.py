"""The NetworkStrategy resource model and the built-in strategies' settings (pure pydantic)."""

from strategy_operator.models.errors import describe
from strategy_operator.models.resource import (
    Condition,
    ExceptionInfo,
    IterationSummary,
    NetworkTaskCounts,
    Mode,
    NetworkStrategySpec,
    NetworkStrategyStatus,
    ServerSpec,
    Status,
    StrategySpec,
    TaskScaling,
    format_rfc3339,
    settings_for,
)
from strategy_operator.models.settings import (
    BUILTIN_SETTINGS,
    ConnectivitySettings,
    RadialGrowthSettings,
    StrategySettings,
)

__all__ = [
    "BUILTIN_SETTINGS",
    "Condition",
    "ConnectivitySettings",
    "ExceptionInfo",
    "IterationSummary",
    "NetworkTaskCounts",
    "Mode",
    "NetworkStrategySpec",
    "NetworkStrategyStatus",
    "RadialGrowthSettings",
    "ServerSpec",
    "Status",
    "StrategySettings",
    "StrategySpec",
    "TaskScaling",
    "describe",
    "format_rfc3339",
    "settings_for",
]
