"""The engine's words: strategy modes and task scaling, as the spec and snapshots spell them.

The engine owns these; the resource types (`strategy_operator.api.v1alpha1`) import them, so
the CRD's enums and the engine's branches cannot drift apart.
"""

from __future__ import annotations

from enum import Enum


class Mode(str, Enum):
    partial = "partial"
    full = "full"
    disabled = "disabled"


class TaskScaling(str, Enum):
    exponential = "exponential"
    linear = "linear"
