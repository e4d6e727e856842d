"""Resource planning: run the real engine against simulated compute to compare settings.

    results = compare(snapshot, [Choice(Mode.partial, TaskScaling.linear, 3)], ComputeModel(rate=0.02))

Pure (no HTTP, no Kubernetes); `strategy-operator simulate` is its command line.
"""

from strategy_operator.planning.compute import ComputeModel
from strategy_operator.planning.simulation import Choice, Schedule, SimulationResult, compare, needed_results, simulate

__all__ = ["Choice", "ComputeModel", "Schedule", "SimulationResult", "compare", "needed_results", "simulate"]
