"""Networks and their structure: queries, state, transformations and chemical systems."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from strategy_operator.scopedkey import Scope
from strategy_operator_dev.sandbox.auth import (
    TokenData,
    query_scope_space,
)
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    authorized_sk,
    parse_sk,
    query_scope,
    require_scope,
    state_of,
    token_data,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.post("/bulk/networks/state/set")
async def set_networks_state(
    request: Request,
    networks: list[str] = Body(embed=True),
    states: list[str] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).set_network_states(keys, states)


@router.post("/bulk/networks/state/get")
async def get_networks_state(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[str | None]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).get_network_states([str(k) for k in keys])


@router.get("/networks")
async def query_networks(
    request: Request,
    name: str | None = None,
    state: str | None = None,
    scope: Scope = Depends(query_scope),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sandbox = state_of(request)
    return [
        sk for s in query_scope_space(scope, token.scopes) for sk in sandbox.query_networks(s, name=name, state=state)
    ]


@router.get("/transformations")
async def query_transformations(
    request: Request,
    name: str | None = None,
    scope: Scope = Depends(query_scope),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sandbox = state_of(request)
    return [sk for s in query_scope_space(scope, token.scopes) for sk in sandbox.query_transformations(s, name=name)]


@router.get("/chemicalsystems")
async def query_chemicalsystems(
    request: Request,
    name: str | None = None,
    scope: Scope = Depends(query_scope),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sandbox = state_of(request)
    return [sk for s in query_scope_space(scope, token.scopes) for sk in sandbox.query_chemical_systems(s, name=name)]


@router.get("/tasks")
async def query_tasks(
    request: Request,
    status: str | None = None,
    scope: Scope = Depends(query_scope),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sandbox = state_of(request)
    return [sk for s in query_scope_space(scope, token.scopes) for sk in sandbox.query_tasks(s, status=status)]


@router.get("/networks/{network_scoped_key}/transformations")
async def network_transformations(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformations(str(authorized_sk(network_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/networks")
async def transformation_networks(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_networks(str(authorized_sk(transformation_scoped_key, token)))


@router.get("/networks/{network_scoped_key}/chemicalsystems")
async def network_chemicalsystems(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).network_chemical_systems(str(authorized_sk(network_scoped_key, token)))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}/networks")
async def chemicalsystem_networks(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).chemical_system_networks(str(authorized_sk(chemicalsystem_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/chemicalsystems")
async def transformation_chemicalsystems(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_chemical_systems(str(authorized_sk(transformation_scoped_key, token)))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}/transformations")
async def chemicalsystem_transformations(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).chemical_system_transformations(str(authorized_sk(chemicalsystem_scoped_key, token)))


@router.get("/networks/{network_scoped_key}")
async def get_network(network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> Any:
    return state_of(request).object_chain(authorized_sk(network_scoped_key, token))


@router.get("/transformations/{transformation_scoped_key}")
async def get_transformation(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    return state_of(request).object_chain(authorized_sk(transformation_scoped_key, token))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}")
async def get_chemicalsystem(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    return state_of(request).object_chain(authorized_sk(chemicalsystem_scoped_key, token))
