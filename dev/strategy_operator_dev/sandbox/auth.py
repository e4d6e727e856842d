"""Bearer tokens and scope checks as alchemiscale issues and applies them.

Tokens are HS256 JWTs with exactly the claims upstream puts in them (`sub`, `scopes`,
`exp`), so a client that decodes its token to refresh ahead of expiry sees the real shape.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from strategy_operator.scopedkey import Scope

ALGORITHM = "HS256"
DEFAULT_TOKEN_LIFETIME = 1800


class InvalidToken(Exception):
    """Bad signature, malformed or expired token: 401 `Could not validate credentials`."""


@dataclass(frozen=True, slots=True)
class TokenData:
    entity: str | None  # upstream's TokenData allows a token without `sub`
    scopes: list[str]


class TokenIssuer:
    """Signs and verifies tokens with a per-sandbox random secret."""

    def __init__(self, lifetime: float = DEFAULT_TOKEN_LIFETIME, secret: str | None = None) -> None:
        self.lifetime = lifetime
        self._secret = secret or secrets.token_hex(32)
        self._verified: dict[str, tuple[TokenData, float]] = {}

    def __repr__(self) -> str:
        return f"TokenIssuer(lifetime={self.lifetime!r})"

    def issue(self, identifier: str, scopes: list[str], lifetime: float | None = None) -> str:
        exp = int(time.time() + (self.lifetime if lifetime is None else lifetime))
        return jwt.encode({"sub": identifier, "scopes": list(scopes), "exp": exp}, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenData:
        # Verified tokens are remembered until they expire: clients reuse one token for
        # thousands of requests, and HMAC verification would dominate a cheap request.
        cached = self._verified.get(token)
        if cached is not None:
            data, exp = cached
            if time.time() < exp:
                return data
            del self._verified[token]
            raise InvalidToken()
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp"]})
        except jwt.PyJWTError:
            raise InvalidToken() from None
        scopes = payload.get("scopes")
        if not isinstance(scopes, list):
            raise InvalidToken()
        data = TokenData(entity=payload.get("sub"), scopes=scopes)
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = (data, payload["exp"])
        return data


def is_covered(scope: Scope, token_scopes: list[str]) -> bool:
    return any(Scope.from_str(ts).covers(scope) for ts in token_scopes)


def scope_denied_detail(scope: Scope, token_scopes: list[str]) -> str:
    # The list is rendered with Python's repr, exactly as upstream's f-string does.
    return f"Targeted scope '{scope}' not accessible via scopes for this identity: {token_scopes}."


def _sort_key(scope: Scope) -> tuple[str, str, str]:
    return (scope.org or "", scope.campaign or "", scope.project or "")


def query_scope_space(query: Scope, token_scopes: list[str]) -> list[Scope]:
    """The scopes a scope-filtered query really searches: the query scope itself when a
    token scope covers it, else every (minimal) token scope lying inside it."""
    minimal: list[Scope] = []
    for scope in sorted({Scope.from_str(ts) for ts in token_scopes}, key=_sort_key):
        if not any(other.covers(scope) for other in minimal):
            minimal.append(scope)
    if any(scope.covers(query) for scope in minimal):
        return [query]
    return [scope for scope in minimal if query.covers(scope)]


def parse_query_scope(org: str | None, campaign: str | None, project: str | None) -> Scope:
    """Scope from query parameters (omitted or `*` = wildcard); InvalidScopedKey when malformed,
    an empty value included (query parameters, unlike form fields, keep "")."""
    parts = [p if p is not None else "*" for p in (org, campaign, project)]
    return Scope.from_str("-".join(parts))


__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "InvalidToken",
    "TokenData",
    "TokenIssuer",
    "is_covered",
    "parse_query_scope",
    "query_scope_space",
    "scope_denied_detail",
]
