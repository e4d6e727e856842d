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


BUILTIN_STRATEGIES = ("ConnectivityStrategy", "RadialGrowthStrategy")

# Any other strategy is a stratocaster Strategy class named by import path: a dotted module
# path, then `.Class` or `:Class[.Attr...]` (run through the operator's stratocaster adapter).
# `[.]`, not `\.`: the pattern is also quoted in a CEL rule, where `\.` is no valid escape.
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
STRATEGY_IMPORT_PATH_PATTERN = (
    rf"^{_IDENTIFIER}([.]{_IDENTIFIER})*(:{_IDENTIFIER}([.]{_IDENTIFIER})*|[.]{_IDENTIFIER})$"
)
