"""What every strategy's settings share: the base class, strict numbers, and validating raw settings.

Each strategy's own settings class lives beside it (`connectivity.py`, `radialgrowth.py`), with
stratocaster's keys, defaults and bounds.

stratocaster checks ranges on the raw input before coercion, so a string such as "3" fails
with a bare TypeError and a boolean `true` passes as `max_runs = 1`. Here numbers must be
JSON numbers: booleans and strings are rejected, whole floats (2.0) are accepted for
integer fields, and every message names the field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from strategy_operator.validation import describe


def _integer(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, not {type(value).__name__} {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"must be a whole number, not {value!r}")
        return int(value)
    return value


def _number(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, not {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value!r}")
    return float(value)


Integer = Annotated[int, BeforeValidator(_integer)]
Number = Annotated[float, BeforeValidator(_number)]


class StrategySettings(BaseModel):
    """Base of every strategy's settings: frozen, unknown keys rejected, assignment validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    strategy_name: ClassVar[str]
    # Extra CEL rules this strategy's settings need in the CRD; most need none.
    cel_rules: ClassVar[tuple[dict[str, str], ...]] = ()

    @classmethod
    def default_settings(cls) -> StrategySettings:
        """The settings used when a resource or snapshot omits `settings` entirely."""
        return cls()


def settings_for(name: str, raw: dict[str, Any] | None, classes: dict[str, type[StrategySettings]]) -> StrategySettings:
    """Validate `raw` settings for strategy `name`; omitted settings mean `default_settings()`.

    Given settings take the settings class's field defaults for missing keys (so
    ConnectivityStrategy then needs max_runs or cutoff), exactly as stratocaster does.
    """
    cls = classes.get(name)
    if cls is None:
        raise ValueError(f"name: unknown strategy {name!r}; known: {', '.join(sorted(classes))}")
    if raw is None:
        return cls.default_settings()
    if not isinstance(raw, dict):
        raise ValueError(f"settings: must be an object of {name} settings, not {type(raw).__name__}")
    try:
        return cls.model_validate(raw)
    except ValidationError as error:
        raise ValueError(describe(error, prefix="settings")) from None
