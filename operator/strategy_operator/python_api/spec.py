"""A NetworkStrategy's spec from what a notebook passes: the network, the strategy, the resource's name."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from strategy_operator.api.v1alpha1 import NetworkStrategySpec, StrategySpec
from strategy_operator.engine.strategies.registry import BUILTIN_SETTINGS
from strategy_operator.python_api.errors import InvalidNetworkStrategy
from strategy_operator.python_api.strategy_objects import stratocaster_strategy_document
from strategy_operator.scopedkey import InvalidScopedKey, ScopedKey, parse_network_key
from strategy_operator.validation import describe

NAME_LIMIT = 63  # a DNS label: also usable as a label value


def resource_name(network: str) -> str:
    """The NetworkStrategy name used when none is given: deterministic, a valid DNS label.

    `<org>-<campaign>-<project>-<first 12 hex digits of the SHA-256 of the key>`, lower
    case, `_` as `-`, the scope part shortened to keep within 63 characters.
    """
    key = network_key(network)
    scope = key.scope
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:12]
    readable = re.sub(r"[^a-z0-9-]+", "-", f"{scope.org}-{scope.campaign}-{scope.project}".lower().replace("_", "-"))
    readable = re.sub(r"-{2,}", "-", readable).strip("-")[: NAME_LIMIT - len(digest) - 1].rstrip("-")
    return f"{readable}-{digest}" if readable else f"network-{digest}"


def network_key(network: Any) -> ScopedKey:
    """The network's scoped key, from a scoped key object or its string; InvalidNetworkStrategy when it is none."""
    unscoped = _unscoped_gufe(network)
    if unscoped is not None:
        raise InvalidNetworkStrategy(
            f"network: {unscoped} has no scope: pass the network's scoped key, as asc.create_network returned "
            "it (AlchemicalNetwork-<token>-<org>-<campaign>-<project>)"
        )
    try:
        return parse_network_key(str(network))
    except InvalidScopedKey as exc:
        raise InvalidNetworkStrategy(f"network: {exc}") from None


def _unscoped_gufe(network: Any) -> str | None:
    """What `network` is when it is a gufe object or key, which knows no alchemiscale scope."""
    gufe = sys.modules.get("gufe.tokenization")  # only a caller that imported gufe can pass its objects
    if gufe is None or isinstance(network, ScopedKey):
        return None
    if isinstance(network, gufe.GufeTokenizable):
        return f"the gufe {type(network).__name__} object {network.key}"
    if isinstance(network, gufe.GufeKey):
        return f"the gufe key {network}"
    return None


def strategy_spec(strategy: Any, settings: Mapping[str, Any] | None = None) -> StrategySpec:
    """A NetworkStrategy's `spec.strategy` from what the caller passed.

    Accepted: a built-in name (`"ConnectivityStrategy"`) or a Strategy class's import path
    (`"mylab.strategies:UncertaintyStrategy"`) with `settings` (a dict of the strategy's keys,
    or None for its defaults); `{"name": ..., "settings" or "classSettings": {...}}`; a
    `StrategySpec`; or a stratocaster Strategy object such as
    `ConnectivityStrategy(ConnectivityStrategy.default_settings())`, which carries its settings
    (strategy_objects.py).
    """
    if isinstance(strategy, StrategySpec):
        document: dict[str, Any] = strategy.model_dump(exclude_none=True)
    elif isinstance(strategy, str):
        document = {"name": strategy}
    elif isinstance(strategy, Mapping):
        document = dict(strategy)
    else:
        if settings is not None:
            raise InvalidNetworkStrategy("settings: given twice (the Strategy object carries its settings)")
        document = stratocaster_strategy_document(strategy)
    if settings is not None:
        if {"settings", "classSettings", "class_settings"} & set(document):
            raise InvalidNetworkStrategy("settings: given twice (in the strategy and as settings=)")
        name = document.get("name")
        builtin = isinstance(name, str) and name in BUILTIN_SETTINGS
        document["settings" if builtin else "classSettings"] = dict(settings)
    try:
        return StrategySpec.model_validate(document)
    except ValidationError as exc:
        raise InvalidNetworkStrategy(f"strategy.{describe(exc)}") from None


def validated_spec(fields: Mapping[str, Any]) -> NetworkStrategySpec:
    """The whole spec from its fields; InvalidNetworkStrategy naming the field that is wrong."""
    try:
        return NetworkStrategySpec.model_validate(dict(fields))
    except ValidationError as exc:
        raise InvalidNetworkStrategy(describe(exc)) from None


def spec_document(spec: NetworkStrategySpec) -> dict[str, Any]:
    """The spec as the API server stores it (camelCase keys, no unset fields)."""
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)
