"""The NetworkStrategy's spec: the user's intent, validated here and by the CRD rendered from it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from strategy_operator.api.v1alpha1.fields import CamelModel
from strategy_operator.engine.strategies.registry import BUILTIN_SETTINGS
from strategy_operator.engine.strategies.settings import Integer, StrategySettings, settings_for
from strategy_operator.engine.vocabulary import (
    MAX_SLEEP_INTERVAL,
    MAX_TASKS_PER_TRANSFORMATION,
    STRATEGY_IMPORT_PATH_PATTERN,
    Mode,
    TaskScaling,
)
from strategy_operator.scopedkey import NETWORK_KEY_PATTERN, InvalidScopedKey, parse_network_key

NETWORK_KEY_MAX_LENGTH = 512
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
STRATEGY_NAME_MAX_LENGTH = 512


def _settings_rules() -> list[JsonValue]:
    """CEL rules: each settings key only for the strategies that have it."""
    all_keys = sorted({key for cls in BUILTIN_SETTINGS.values() for key in cls.model_fields})
    builtins = ", ".join(f"'{name}'" for name in BUILTIN_SETTINGS)
    rules: list[JsonValue] = [
        {
            "rule": f"self.name in [{builtins}] || self.name.matches('{STRATEGY_IMPORT_PATH_PATTERN}')",
            "message": "strategy.name must be ConnectivityStrategy, RadialGrowthStrategy, or a stratocaster Strategy "
            "class by import path (package.module.Class or package.module:Class, e.g. "
            "stratocaster.strategies.ConnectivityStrategy)",
            "fieldPath": ".name",
            "reason": "FieldValueInvalid",
        },
        {
            "rule": f"!has(self.classSettings) || !(self.name in [{builtins}])",
            "message": "strategy.classSettings is for a strategy named by import path; "
            "a built-in strategy takes strategy.settings",
            "fieldPath": ".classSettings",
            "reason": "FieldValueForbidden",
        },
        {
            "rule": f"!has(self.settings) || self.name in [{builtins}]",
            "message": "strategy.settings holds a built-in strategy's settings; give the settings of a class named "
            "by import path in strategy.classSettings (validated by that class's own settings model)",
            "fieldPath": ".settings",
            "reason": "FieldValueForbidden",
        },
    ]
    rules += [dict(rule) for cls in BUILTIN_SETTINGS.values() for rule in cls.cel_rules]
    for name, cls in BUILTIN_SETTINGS.items():
        accepted = ", ".join(cls.model_fields)
        for key in all_keys:
            if key in cls.model_fields:
                continue
            rules.append(
                {
                    "rule": f"self.name != '{name}' || !has(self.settings) || !has(self.settings.{key})",
                    "message": f"settings.{key} is not a setting of {name} (it accepts: {accepted})",
                    "fieldPath": f".settings.{key}",
                    "reason": "FieldValueForbidden",
                }
            )
    return rules


class StrategySpec(BaseModel):
    """The strategy to run: stratocaster's class name and its settings (snake_case keys, as in stratocaster)."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"x-kubernetes-validations": _settings_rules()}
    )

    name: str = Field(
        min_length=1,
        max_length=STRATEGY_NAME_MAX_LENGTH,
        description="The strategy: ConnectivityStrategy or RadialGrowthStrategy (the operator's built-in, "
        "deterministic re-implementations of stratocaster's), or any stratocaster Strategy class by import path "
        "(package.module.Class or package.module:Class, e.g. stratocaster.strategies.ConnectivityStrategy), "
        "run through the stratocaster adapter if the operator's allowed strategies admit it.",
    )
    settings: dict[str, Any] | None = Field(
        default=None,
        description="The strategy's settings, with stratocaster's keys. Omitted: the strategy's default settings "
        "(ConnectivityStrategy: max_runs 3, decay_rate 0.5; RadialGrowthStrategy: max_runs 3, "
        "candidacy_max_distance 1, decay_repeat_rate 0.5, decay_distance_rate 0.5). Given: missing keys take "
        "the settings class's defaults, and ConnectivityStrategy then needs max_runs or cutoff. For a class named by "
        "import path: that class's own settings model validates them (at the first iteration).",
    )

    class_settings: dict[str, Any] | None = Field(
        default=None,
        alias="classSettings",
        description="Settings of a strategy named by import path, with that class's own keys: its settings model "
        "(the class's _settings_cls) validates them at the first iteration. Omitted: the class's "
        "default_settings(). Not for the built-in strategies, which take settings.",
    )

    @property
    def is_import_path(self) -> bool:
        return self.name not in BUILTIN_SETTINGS

    @model_validator(mode="after")
    def _check_settings(self) -> StrategySpec:
        if self.name in BUILTIN_SETTINGS:
            if self.class_settings is not None:
                raise ValueError(f"classSettings: is for a strategy named by import path; {self.name} takes settings")
            settings_for(self.name, self.settings, BUILTIN_SETTINGS)
            return self
        if not re.fullmatch(STRATEGY_IMPORT_PATH_PATTERN, self.name):
            raise ValueError(
                f"name: {self.name!r} is neither a built-in strategy ({', '.join(BUILTIN_SETTINGS)}) nor an "
                "import path (package.module.Class or package.module:Class)"
            )
        if self.settings is not None:
            raise ValueError(
                f"settings: holds a built-in strategy's settings; give the settings of {self.name} in classSettings"
            )
        # classSettings are validated by the class's own settings model, in the adapter.
        return self

    def resolved_settings(self) -> StrategySettings:
        return settings_for(self.name, self.settings, BUILTIN_SETTINGS)


class ServerSpec(CamelModel):
    """Where the network lives, when not on the operator's default alchemiscale server."""

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.url) || has(self.credentialsSecret)",
                    "message": "server.credentialsSecret is required when server.url is set: the operator never "
                    "sends its default credentials to a server named by a resource",
                    "fieldPath": ".credentialsSecret",
                    "reason": "FieldValueRequired",
                }
            ],
        }
    )

    url: str | None = Field(
        default=None,
        pattern=URL_PATTERN,
        max_length=2048,
        description="Base URL of the alchemiscale user API (http or https). Omitted: the operator's default server.",
    )
    credentials_secret: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
        description="Name of a Secret in this resource's namespace with keys `identifier` and `key` "
        "(an alchemiscale user identity). Required when url is set; omitted: the operator's default credentials.",
    )

    @model_validator(mode="after")
    def _credentials_with_url(self) -> ServerSpec:
        if self.url is None and self.credentials_secret is None:
            raise ValueError("give url and credentialsSecret, or only credentialsSecret, or omit server")
        if self.url is not None and self.credentials_secret is None:
            raise ValueError(
                "server.credentialsSecret is required when server.url is set: the operator never "
                "sends its default credentials to a server named by a resource"
            )
        return self


class NetworkStrategySpec(CamelModel):
    """A Strategy attached to an AlchemicalNetwork on an alchemiscale server."""

    network: str = Field(
        pattern=NETWORK_KEY_PATTERN,
        max_length=NETWORK_KEY_MAX_LENGTH,
        description="Scoped key of the AlchemicalNetwork, e.g. AlchemicalNetwork-<token>-<org>-<campaign>-<project>. "
        "Immutable: create another NetworkStrategy for another network.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self == oldSelf",
                    "message": "network is immutable; create a new NetworkStrategy for another network",
                    "reason": "FieldValueInvalid",
                }
            ]
        },
    )
    strategy: StrategySpec = Field(description="The strategy and its settings.")
    mode: Mode = Field(
        default=Mode.partial,
        description="partial (default): create and action tasks, never cancel. full: also un-action tasks above "
        "a transformation's target, and un-action everything on the network when going dormant. "
        "disabled: do nothing.",
    )
    task_scaling: TaskScaling = Field(
        default=TaskScaling.exponential,
        description="How a transformation's weight (its share of the network's total) becomes a task count: "
        "exponential (default) trunc((1+M)^w) or linear trunc(1+w*M), capped at maxTasksPerTransformation M.",
    )
    max_tasks_per_transformation: Integer = Field(
        default=3,
        ge=1,
        le=MAX_TASKS_PER_TRANSFORMATION,
        description="The most tasks actioned per transformation (M). From 1 to "
        f"{MAX_TASKS_PER_TRANSFORMATION}; default 3.",
    )
    sleep_interval: Integer = Field(
        default=3600,
        ge=1,
        le=MAX_SLEEP_INTERVAL,
        description=f"Seconds between iterations, from 1 to {MAX_SLEEP_INTERVAL} (30 days); default 3600. "
        "The operator's minimum sleep interval "
        "(default 300) applies when this is smaller.",
    )
    server: ServerSpec | None = Field(
        default=None,
        description="The alchemiscale server and credentials to use. Omitted: the operator's defaults.",
    )
    cancel_tasks_on_delete: bool = Field(
        default=False,
        strict=True,
        description="When true, deleting this resource un-actions every task actioned on the network "
        "before the resource goes away. Default false.",
    )
    take_over_server_strategy: bool = Field(
        default=False,
        strict=True,
        description="When the alchemiscale server holds a strategy for the network (set with "
        "set_network_strategy, run by upstream's Strategist), the operator refuses to act unless this is "
        "true; then it sets that strategy's mode to disabled on the server (its settings and state are "
        "kept) and runs this resource instead. Default false.",
    )

    @field_validator("network")
    @classmethod
    def _network_key(cls, value: str) -> str:
        try:
            parse_network_key(value)
        except InvalidScopedKey as error:
            raise ValueError(str(error)) from None
        return value
