"""Identities and their scopes. (part of `SandboxState`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from strategy_operator.scopedkey import Scope
from strategy_operator_dev.sandbox.state.records import (
    Identity,
    ServerFault,
    UnknownIdentity,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def add_identity(self: SandboxState, identifier: str, key: str, scopes: Iterable[str]) -> None:
    scopes = list(scopes)
    for scope in scopes:
        Scope.from_str(scope)  # raises InvalidScopedKey naming the bad scope
    with self._lock:
        self.identities[identifier] = Identity(identifier, key, scopes)


def authenticate(self: SandboxState, identifier: str, key: str) -> Identity | None:
    """The identity when the key matches; None for a wrong key; UnknownIdentity (a 500
    upstream) for an identifier that does not exist."""
    with self._lock:
        identity = self.identities.get(identifier)
        if identity is None:
            raise UnknownIdentity(f"no identity {identifier!r}")
        if len(key) > 4096 or "\x00" in key:
            raise ServerFault("secret rejected")
        return identity if identity.key == key else None


def identity_scopes(self: SandboxState, identifier: str) -> list[str]:
    if "'" in identifier:
        raise ServerFault("identifier breaks upstream's string-built Cypher query")
    with self._lock:
        identity = self.identities.get(identifier)
        return list(identity.scopes) if identity else []
