"""Results: ok and failed ProtocolDAGResultRefs, and their payloads."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    authorized_sk,
    parse_sk,
    require_scope,
    state_of,
    token_data,
)
from strategy_operator_dev.sandbox.state import BadRequest

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.get("/transformations/{transformation_scoped_key}/results")
async def transformation_results(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_results(str(authorized_sk(transformation_scoped_key, token)), ok=True)


@router.get("/transformations/{transformation_scoped_key}/failures")
async def transformation_failures(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_results(str(authorized_sk(transformation_scoped_key, token)), ok=False)


@router.get("/transformations/{transformation_scoped_key}/{route}/{protocoldagresultref_scoped_key}")
async def protocoldagresult(
    transformation_scoped_key: str,
    route: str,
    protocoldagresultref_scoped_key: str,
    request: Request,
    token: TokenData = Depends(token_data),
) -> list[str]:
    if route not in ("results", "failures"):
        raise BadRequest(f"`route` takes 'results' or 'failures', not '{route}'")
    ref = parse_sk(protocoldagresultref_scoped_key)
    transformation = parse_sk(transformation_scoped_key)
    require_scope(ref.scope, token)
    require_scope(transformation.scope, token)
    payload = state_of(request).result_payload(str(ref))
    return [payload.decode("latin-1")]


@router.get("/tasks/{task_scoped_key}/results")
async def task_results(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> list[str]:
    return state_of(request).task_results(str(authorized_sk(task_scoped_key, token)), ok=True)


@router.get("/tasks/{task_scoped_key}/failures")
async def task_failures(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> list[str]:
    return state_of(request).task_results(str(authorized_sk(task_scoped_key, token)), ok=False)
