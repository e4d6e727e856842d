"""From a NetworkStrategy's spec to a logged-in alchemiscale client: the one path for every handler.

spec -> scope check -> server and credentials Secret -> bound credentials; the client for them
is the operator's shared one from its `ClientPool` (`alchemiscale/pool.py`). The periodic
pass (`reconcile.py`) and cancel-on-delete (`deletion.py`) both resolve through here, so they
can never disagree about which server, Secret or scope a resource means, nor about whether
the Secret's key may go to that server (`bound_credentials`, rules in `credentials_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from strategy_operator.api.v1alpha1 import NetworkStrategySpec
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import read_bound_credentials
from strategy_operator.controller.secrets import SecretCredentials, SecretSource
from strategy_operator.scopedkey import InvalidScopedKey, parse_network_key
from strategy_operator.validation import describe


class IterationError(Exception):
    """A problem of the resource's configuration, found before talking to alchemiscale."""


class InvalidSpec(IterationError):
    pass


class ScopeNotAllowed(IterationError):
    pass


class ServerNotConfigured(IterationError):
    pass


@dataclass(frozen=True)
class ServerChoice:
    url: str
    secret_namespace: str
    secret_name: str


def choose_server(spec: NetworkStrategySpec, namespace: str, config: OperatorConfig) -> ServerChoice:
    """The server and credentials Secret for a resource: its own, or the operator's defaults."""
    server = spec.server
    url = server.url if server is not None and server.url else config.default_server
    if not url:
        raise ServerNotConfigured(
            "spec.server.url is not set and the operator has no --default-server (STRATEGY_OPERATOR_DEFAULT_SERVER)"
        )
    if server is not None and server.credentials_secret:
        return ServerChoice(url.rstrip("/"), namespace, server.credentials_secret)
    if config.default_credentials_secret and config.operator_namespace:
        return ServerChoice(url.rstrip("/"), config.operator_namespace, config.default_credentials_secret)
    raise ServerNotConfigured(
        "spec.server.credentialsSecret is not set and the operator has no --default-credentials-secret "
        "(STRATEGY_OPERATOR_DEFAULT_CREDENTIALS_SECRET)"
    )


def parse_spec(raw: Mapping[str, Any]) -> NetworkStrategySpec:
    try:
        return NetworkStrategySpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise InvalidSpec(describe(exc, "spec")) from None


def check_scope(network: str, config: OperatorConfig) -> None:
    try:
        key = parse_network_key(network)
    except InvalidScopedKey as exc:
        raise InvalidSpec(f"spec.network: {exc}") from None
    if not config.scope_allowed(key.scope):
        allowed = ", ".join(str(s) for s in config.allowed_scopes)
        raise ScopeNotAllowed(
            f"spec.network {network!r} is in scope {key.scope}, which this operator may not touch "
            f"(allowed scopes: {allowed})"
        )


async def bound_credentials(secrets: SecretSource, choice: ServerChoice, config: OperatorConfig) -> SecretCredentials:
    """The credentials for `choice`, refused unless the operator allows the server and the Secret is bound to it."""
    credentials: SecretCredentials = await read_bound_credentials(
        secrets,
        url=choice.url,
        secret_namespace=choice.secret_namespace,
        secret_name=choice.secret_name,
        allowed_servers_=config.allowed_servers,
        default_server=config.default_server,
        default_secret=(config.operator_namespace, config.default_credentials_secret),
    )
    return credentials


@dataclass(frozen=True)
class Resolved:
    """Everything a handler needs to talk to the resource's server, credentials included."""

    spec: NetworkStrategySpec
    server: ServerChoice
    credentials: SecretCredentials


def verify_of(config: OperatorConfig) -> bool | str:
    """TLS verification for alchemiscale: the operator's CA bundle, else the system's."""
    return config.ca_bundle or True


async def resolve(
    raw_spec: Mapping[str, Any],
    namespace: str,
    config: OperatorConfig,
    secrets: SecretSource,
    *,
    secrets_seen: list[str] | None = None,
) -> Resolved:
    """Parse the spec, check its scope, choose the server and read its credentials Secret.

    Raises `CredentialsPolicyError` (nothing read or sent) when the server is not allowed or
    the Secret is not bound to it.

    The key read is appended to `secrets_seen` at once, so a failure after this point can
    still be scrubbed of it.
    """
    spec = parse_spec(raw_spec)
    check_scope(spec.network, config)
    server = choose_server(spec, namespace, config)
    credentials = await bound_credentials(secrets, server, config)
    if secrets_seen is not None:
        secrets_seen.append(credentials.key)
    return Resolved(spec, server, credentials)
