"""The strategy engine: snapshot in, plan out. Pure: no Kopf, no HTTP, no clock.

plan = plan_iteration(Snapshot.model_validate(document))
"""

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.iteration import plan_iteration
from strategy_operator.engine.plan import Plan, PlanSummary
from strategy_operator.engine.scaling import target_count
from strategy_operator.engine.snapshot import Snapshot
from strategy_operator.engine.strategies import (
    ConnectivityStrategy,
    RadialGrowthStrategy,
    Strategy,
    build_strategy,
    register_strategy,
    strategy_names,
)

__all__ = [
    "ConnectivityStrategy",
    "NetworkGraph",
    "Plan",
    "PlanSummary",
    "RadialGrowthStrategy",
    "Snapshot",
    "Strategy",
    "StrategyError",
    "build_strategy",
    "plan_iteration",
    "register_strategy",
    "strategy_names",
    "target_count",
]
