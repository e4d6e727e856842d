"""Settings of the built-in strategies, with stratocaster's keys, defaults and bounds.

stratocaster checks ranges on the raw input before coercion, so a string such as "3" fails
with a bare TypeError and a boolean `true` passes as `max_runs = 1`. Here numbers must be
JSON numbers: booleans and strings are rejected, whole floats (2.0) are accepted for
integer fields, and every message names the field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

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

    @classmethod
    def default_settings(cls) -> StrategySettings:
        """The settings used when a resource or snapshot omits `settings` entirely."""
        return cls()


class ConnectivitySettings(StrategySettings):
    """ConnectivityStrategy: weigh transformations by the connectivity of their systems."""

    strategy_name: ClassVar[str] = "ConnectivityStrategy"

    decay_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Factor applied to a transformation's weight per successful result: "
        "weight = decay_rate^results x mean degree of its two systems. Strictly between 0 and 1; default 0.5.",
    )
    cutoff: Number | None = Field(
        default=None,
        gt=0,
        description="A transformation whose weight falls below this value is finished (weight null). "
        "Greater than 0. At least one of cutoff and max_runs must be set.",
    )
    max_runs: Integer | None = Field(
        default=None,
        ge=1,
        description="ConnectivityStrategy: a transformation with this many successful results is finished. "
        "At least 1; at least one of cutoff and max_runs must be set. "
        "RadialGrowthStrategy: the same, at least 1, default 3.",
    )

    @model_validator(mode="after")
    def _needs_a_stop_rule(self) -> ConnectivitySettings:
        if self.cutoff is None and self.max_runs is None:
            raise ValueError(
                "ConnectivityStrategy settings need max_runs or cutoff (or both); "
                "omit settings entirely to use the defaults (max_runs 3, decay_rate 0.5)"
            )
        return self

    @classmethod
    def default_settings(cls) -> ConnectivitySettings:
        return cls(max_runs=3, decay_rate=0.5, cutoff=None)


class RadialGrowthSettings(StrategySettings):
    """RadialGrowthStrategy: grow outward from the network's centre, shell by shell."""

    strategy_name: ClassVar[str] = "RadialGrowthStrategy"

    max_runs: Integer = Field(
        default=3,
        ge=1,
        description="A transformation with this many successful results is finished. At least 1; default 3.",
    )
    candidacy_max_distance: Integer = Field(
        default=1,
        ge=1,
        description="RadialGrowthStrategy: transformations more than this many eccentricity shells beyond "
        "the lowest incomplete shell get weight 0 (not now). At least 1; default 1.",
    )
    decay_repeat_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="RadialGrowthStrategy: factor applied per successful result. Strictly between 0 and 1; default 0.5.",
    )
    decay_distance_rate: Number = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="RadialGrowthStrategy: factor applied per shell of distance beyond the first. "
        "Strictly between 0 and 1; default 0.5.",
    )


BUILTIN_SETTINGS: dict[str, type[StrategySettings]] = {
    cls.strategy_name: cls for cls in (ConnectivitySettings, RadialGrowthSettings)
}


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
