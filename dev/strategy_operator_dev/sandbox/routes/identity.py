"""Unauthenticated `/ping` and `/token`; `/info`, `/check`, identities' scopes and `/exists`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from strategy_operator_dev.sandbox.auth import (
    TokenData,
    TokenIssuer,
)
from strategy_operator_dev.sandbox.routes.common import (
    API_TITLE,
    BEARER,
    SandboxRoute,
    parse_sk,
    require_scope,
    state_of,
    token_data,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)
public = APIRouter(route_class=SandboxRoute)


@public.get("/ping")
async def ping() -> dict[str, str]:
    return {"api": API_TITLE}


@public.post("/token")
async def issue_token(request: Request) -> Any:
    # Empty values are dropped, as FastAPI's form parsing treats "" as absent.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    missing = [name for name in ("username", "password") if name not in form]
    if missing:
        return JSONResponse(
            {
                "detail": [
                    {"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None}
                    for name in missing
                ]
            },
            status_code=422,
        )
    if "grant_type" in form and form["grant_type"][0] != "password":
        return JSONResponse(
            {
                "detail": [
                    {
                        "type": "string_pattern_mismatch",
                        "loc": ["body", "grant_type"],
                        "msg": "String should match pattern '^password$'",
                        "input": form["grant_type"][0],
                        "ctx": {"pattern": "^password$"},
                    }
                ]
            },
            status_code=422,
        )
    state = state_of(request)
    identity = state.authenticate(form["username"][0], form["password"][0])
    if identity is None:
        raise HTTPException(401, "Incorrect identity or key", headers=BEARER)
    tokens: TokenIssuer = request.app.state.tokens
    return {"access_token": tokens.issue(identity.identifier, identity.scopes), "token_type": "bearer"}


@router.get("/info")
async def info() -> dict[str, str]:
    return {"message": "nothing yet"}


@router.get("/check")
async def check(request: Request) -> None:
    if not state_of(request).store_reachable:
        raise HTTPException(503, "Attempt to reach services failed, Neo4j reachable: False, S3 reachable: False")
    return None


@router.get("/identities/{identity_identifier}/scopes")
async def identity_scopes(identity_identifier: str, request: Request) -> list[str]:
    return state_of(request).identity_scopes(identity_identifier)


@router.get("/exists/{scoped_key}")
async def exists(scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> bool:
    if len(scoped_key.split("-")) != 5:
        raise HTTPException(422, "input does not appear to be a `ScopedKey`")
    sk = parse_sk(scoped_key)
    require_scope(sk.scope, token)
    return state_of(request).exists(sk)
