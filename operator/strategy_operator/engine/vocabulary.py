"""The engine's words: modes, task scaling, task and strategy statuses, as the spec and snapshots spell them.

The engine owns these; the resource types (`strategy_operator.api.v1alpha1`) import them, so
the CRD's enums and the engine's branches cannot drift apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

# Upper bounds on the numbers a resource author sets, so a typo cannot flood alchemiscale or
# the operator. Upstream's default is 3 tasks per transformation and the user guide's
# examples use 3-10; a sleep interval above 30 days is no schedule at all.
MAX_TASKS_PER_TRANSFORMATION = 100
MAX_SLEEP_INTERVAL = 30 * 24 * 3600


class Mode(str, Enum):
    partial = "partial"
    full = "full"
    disabled = "disabled"


class TaskScaling(str, Enum):
    exponential = "exponential"
    linear = "linear"


# A task's status on the server; only the first three can be actioned on a TaskHub.
TaskStatus = Literal["waiting", "running", "complete", "error", "invalid", "deleted"]
WAITING: TaskStatus = "waiting"
RUNNING: TaskStatus = "running"
ERROR: TaskStatus = "error"
ACTIONABLE_STATUSES: frozenset[str] = frozenset({WAITING, RUNNING, ERROR})

# The statuses an iteration can leave a strategy in (error is the operator's, never the engine's).
StrategyStatus = Literal["awake", "dormant"]

# Any other strategy is a stratocaster Strategy class named by import path: a dotted module
# path, then `.Class` or `:Class[.Attr...]` (run through the operator's stratocaster adapter).
# `[.]`, not `\.`: the pattern is also quoted in a CEL rule, where `\.` is no valid escape.
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
STRATEGY_IMPORT_PATH_PATTERN = (
    rf"^{_IDENTIFIER}([.]{_IDENTIFIER})*(:{_IDENTIFIER}([.]{_IDENTIFIER})*|[.]{_IDENTIFIER})$"
)
