"""Weights to target counts of actioned tasks, exactly as alchemiscale's Strategist does it.

None and exactly 0 give 0; exactly 1 gives M; otherwise linear trunc(1 + w*M) or exponential
trunc((1 + M)^w), capped at M. Plain IEEE doubles on purpose: band edges such as
(1/3)*6 == 2.0 must round the way the reference's Python floats do.
"""

from __future__ import annotations

from strategy_operator.engine.vocabulary import TaskScaling


def target_count(weight: float | None, max_tasks: int, scaling: TaskScaling | str) -> int:
    if weight is None or weight == 0:
        return 0
    if weight == 1:
        return max_tasks
    if scaling == TaskScaling.linear:  # a str enum: also equal to the plain string
        count = int(1 + weight * max_tasks)
    else:
        count = int((1 + max_tasks) ** weight)
    return min(max_tasks, count)
