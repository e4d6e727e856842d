"""Tasks: creation, listings per network and transformation, status counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from strategy_operator.scopedkey import InvalidScopedKey, Scope
from strategy_operator_dev.sandbox.auth import (
    TokenData,
    query_scope_space,
)
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    ScopedKeyObject,
    authorized_sk,
    authorized_sks,
    checked_status,
    parse_sk,
    state_of,
    token_data,
)
from strategy_operator_dev.sandbox.state import (
    BadRequest,
    ServerFault,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.post("/transformations/{transformation_scoped_key}/tasks")
async def create_tasks(
    transformation_scoped_key: str,
    request: Request,
    extends: ScopedKeyObject | None = None,
    count: int = Body(...),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sk = authorized_sk(transformation_scoped_key, token)
    ext = extends.to_sk() if extends is not None else None
    return state_of(request).create_tasks([sk] * count, [ext] * count, creator=token.entity)


@router.post("/bulk/transformations/tasks/create")
async def create_transformations_tasks(
    request: Request,
    transformations: list[str] = Body(embed=True),
    # Declared like upstream; FastAPI makes this optional list a body field too.
    extends: list[str | None] | None = None,
    token: TokenData = Depends(token_data),
) -> list[str]:
    keys = authorized_sks(transformations, token)
    ext = None if extends is None else [None if not e else parse_sk(e) for e in extends]
    return state_of(request).create_tasks(keys, ext, creator=token.entity)


@router.get("/networks/{network_scoped_key}/tasks")
async def network_tasks(
    network_scoped_key: str, request: Request, status: str | None = None, token: TokenData = Depends(token_data)
) -> list[str]:
    sk = authorized_sk(network_scoped_key, token)
    return state_of(request).network_tasks(str(sk), checked_status(status))


@router.get("/tasks/{task_scoped_key}/networks")
async def task_networks(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> list[str]:
    return state_of(request).task_networks(str(authorized_sk(task_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/tasks")
async def transformation_tasks(
    transformation_scoped_key: str,
    request: Request,
    extends: str | None = None,
    return_as: str = "list",
    status: str | None = None,
    token: TokenData = Depends(token_data),
) -> Any:
    sk = authorized_sk(transformation_scoped_key, token)
    graph = state_of(request).transformation_tasks(str(sk), status=checked_status(status), extends=extends)
    if return_as == "list":
        return list(graph)
    if return_as == "graph":
        return graph
    raise BadRequest(f"`return_as` takes 'list' or 'graph', not '{return_as}'")


@router.get("/scopes/{scope}/status")
async def scope_status(
    scope: str, request: Request, network_state: str | None = None, token: TokenData = Depends(token_data)
) -> dict[str, int]:
    try:
        parsed = Scope.from_str(scope)
    except InvalidScopedKey as exc:
        raise ServerFault(str(exc)) from None
    return state_of(request).scope_status(query_scope_space(parsed, token.scopes), network_state)


@router.get("/networks/{network_scoped_key}/status")
async def network_status(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> dict[str, int]:
    return state_of(request).network_status(str(authorized_sk(network_scoped_key, token)))


@router.post("/bulk/networks/status")
async def networks_status(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[dict[str, int]]:
    keys = authorized_sks(networks, token)
    return state_of(request).networks_status([str(k) for k in keys])


@router.get("/transformations/{transformation_scoped_key}/status")
async def transformation_status(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> dict[str, int]:
    return state_of(request).transformation_status(str(authorized_sk(transformation_scoped_key, token)))
