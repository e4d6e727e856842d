"""Request plumbing shared by every route module: parsing, scope checks, state access."""

from __future__ import annotations

import functools
import gzip
import string
import unicodedata
from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, field_validator, model_validator

from strategy_operator.scopedkey import InvalidScopedKey, Scope, ScopedKey
from strategy_operator_dev.sandbox.auth import (
    InvalidToken,
    TokenData,
    TokenIssuer,
    is_covered,
    parse_query_scope,
    query_scope_space,
    scope_denied_detail,
)
from strategy_operator_dev.sandbox.state import (
    TASK_STATUSES,
    BadRequest,
    SandboxState,
    ServerFault,
)

API_TITLE = "AlchemiscaleAPI"
BAD_QUERY_SCOPE = (
    "Requested Scope cannot be processed as a 3-object tuple of form"
    '"X-Y-Z" and cast to string. Alpha numerical values (a-z A-Z 0-9) and "*" are accepted for '
    'parameter "scope"'
)
BEARER = {"WWW-Authenticate": "Bearer"}


class SandboxRoute(APIRoute):
    """Accepts `Content-Encoding: gzip` request bodies, as upstream's router does, and
    renders handler results straight to JSON: FastAPI would otherwise re-validate every
    element of a return-annotated list, which dominates large listings."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _rendered_as_json(endpoint), **kwargs)

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            if "gzip" in request.headers.getlist("Content-Encoding"):
                body = gzip.decompress(await request.body())
                request._body = body  # Starlette caches the body here; handlers read the inflated one
            return await handler(request)

        return route_handler


def _rendered_as_json(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    async def render(*args: Any, **kwargs: Any) -> Response:
        result = await endpoint(*args, **kwargs)
        return result if isinstance(result, Response) else JSONResponse(result)

    return render


_GUFE_KEY_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-")


class ScopedKeyObject(BaseModel):
    """A ScopedKey in JSON object form. A plain string crashes upstream's validator (500)."""

    gufe_key: str
    org: str
    campaign: str
    project: str

    @model_validator(mode="before")
    @classmethod
    def _objects_only(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ServerFault("a ScopedKey object is required here, not a string")
        return value

    @field_validator("gufe_key", mode="before")
    @classmethod
    def _gufe_key(cls, value: Any) -> str:
        # Upstream's checks and messages; as ValueErrors they become FastAPI's 422. The scope
        # components are not checked here, as upstream does not.
        value = str(value)
        if len(value.split("-")) != 2:
            raise ValueError("gufe_key must be of the form '<prefix>-<hex>'")
        value = unicodedata.normalize("NFC", value)
        if not set(value) <= _GUFE_KEY_CHARACTERS:
            raise ValueError("gufe_key contains invalid characters")
        return value

    def text(self) -> str:
        """The string form, unparsed: where upstream only compares it, odd scope
        components simply match nothing."""
        return f"{self.gufe_key}-{self.org}-{self.campaign}-{self.project}"

    def to_sk(self) -> ScopedKey:
        """Parsed; a 500 for what upstream's Scope would reject, as where upstream builds one."""
        return parse_sk(self.text())


def parse_sk(text: str) -> ScopedKey:
    try:
        return ScopedKey.from_str(text)
    except InvalidScopedKey as exc:
        raise ServerFault(str(exc)) from None


_oauth2 = OAuth2PasswordBearer(tokenUrl="token")


async def token_data(request: Request, token: str = Depends(_oauth2)) -> TokenData:
    # async: a sync dependency would cost a thread-pool hop on every request
    tokens: TokenIssuer = request.app.state.tokens
    try:
        return tokens.decode(token)
    except InvalidToken:
        raise HTTPException(401, "Could not validate credentials", headers=BEARER) from None


def require_scope(scope: Scope, token: TokenData) -> None:
    if not is_covered(scope, token.scopes):
        raise HTTPException(401, scope_denied_detail(scope, token.scopes), headers=BEARER)


def covered_or_none(keys: list[ScopedKeyObject], token: TokenData) -> list[str | None]:
    """Bulk task endpoints treat a task outside the token's scopes as absent."""
    out: list[str | None] = []
    for obj in keys:
        sk = obj.to_sk()
        out.append(str(sk) if is_covered(sk.scope, token.scopes) else None)
    return out


async def query_scope(org: str | None = None, campaign: str | None = None, project: str | None = None) -> Scope:
    try:
        return parse_query_scope(org, campaign, project)
    except InvalidScopedKey:
        raise HTTPException(400, BAD_QUERY_SCOPE, headers=BEARER) from None


def state_of(request: Request) -> SandboxState:
    return request.app.state.sandbox


def checked_status(status: str | None) -> str | None:
    if status is not None and status not in TASK_STATUSES:
        raise BadRequest(f"'{status}' is not a valid TaskStatusEnum")
    return status


def authorized_sk(text: str, token: TokenData) -> ScopedKey:
    sk = parse_sk(text)
    require_scope(sk.scope, token)
    return sk


def authorized_sks(texts: list[str], token: TokenData) -> list[ScopedKey]:
    """Bulk endpoints parse every key before checking any scope: a malformed key is a 500 even after one out of scope."""
    keys = [parse_sk(text) for text in texts]
    for sk in keys:
        require_scope(sk.scope, token)
    return keys


async def searched_scopes(scope: Scope = Depends(query_scope), token: TokenData = Depends(token_data)) -> list[Scope]:
    """The scopes a scope-filtered query really searches (`query_scope_space`), for the query's org/campaign/project."""
    return query_scope_space(scope, token.scopes)
