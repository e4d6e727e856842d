"""A NetworkStrategy's spec from what a notebook passes: the network, the strategy, the resource's name."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from strategy_operator.api.v1alpha1 import NetworkStrategySpec, StrategySpec
from strategy_operator.python_api.errors import InvalidNetworkStrategy
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
    """The network's scoped key, from a key or its string; InvalidNetworkStrategy when it is none."""
    try:
        return parse_network_key(str(network))
    except InvalidScopedKey as exc:
        raise InvalidNetworkStrategy(f"network: {exc}") from None


def strategy_spec(strategy: Any, settings: Mapping[str, Any] | None = None) -> StrategySpec:
    """A NetworkStrategy's `spec.strategy` from what the caller passed.

    Accepted: a built-in name (`"ConnectivityStrategy"`) with `settings` (a dict of
    stratocaster's keys, or None for the defaults); `{"name": ..., "settings": {...}}`; a
    `StrategySpec`; or a stratocaster Strategy object such as
    `ConnectivityStrategy(ConnectivityStrategy.default_settings())`.
    """
    if isinstance(strategy, StrategySpec):
        document: dict[str, Any] = strategy.model_dump(exclude_none=True)
    elif isinstance(strategy, str):
        document = {"name": strategy}
    elif isinstance(strategy, Mapping):
        document = dict(strategy)
    elif _is_stratocaster_strategy(strategy):
        document = {
            "name": type(strategy).__name__,
            "settings": strategy.settings.model_dump(mode="json", exclude_none=True),
        }
    else:
        raise InvalidNetworkStrategy(
            f"strategy: expected a strategy name, a {{'name', 'settings'}} dict or a stratocaster Strategy, "
            f"not {type(strategy).__name__}"
        )
    if settings is not None:
        if "settings" in document:
            raise InvalidNetworkStrategy("settings: given twice (in the strategy and as settings=)")
        document["settings"] = dict(settings)
    try:
        return StrategySpec.model_validate(document)
    except ValidationError as exc:
        raise InvalidNetworkStrategy(f"strategy.{describe(exc)}") from None


def _is_stratocaster_strategy(value: Any) -> bool:
    try:
        from stratocaster.base import Strategy
    except ImportError:
        return False
    return isinstance(value, Strategy)


def validated_spec(fields: Mapping[str, Any]) -> NetworkStrategySpec:
    """The whole spec from its fields; InvalidNetworkStrategy naming the field that is wrong."""
    try:
        return NetworkStrategySpec.model_validate(dict(fields))
    except ValidationError as exc:
        raise InvalidNetworkStrategy(describe(exc)) from None


def spec_document(spec: NetworkStrategySpec) -> dict[str, Any]:
    """The spec as the API server stores it (camelCase keys, no unset fields)."""
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)
