"""Networks and their structure: queries, state, transformations and chemical systems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Request

from strategy_operator.scopedkey import Scope, ScopedKey
from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    authorized_sk,
    authorized_sks,
    searched_scopes,
    state_of,
    token_data,
)
from strategy_operator_dev.sandbox.state import SandboxState

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.post("/bulk/networks/state/set")
async def set_networks_state(
    request: Request,
    networks: list[str] = Body(embed=True),
    states: list[str] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    keys = authorized_sks(networks, token)
    return state_of(request).set_network_states(keys, states)


@router.post("/bulk/networks/state/get")
async def get_networks_state(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[str | None]:
    keys = authorized_sks(networks, token)
    return state_of(request).get_network_states([str(k) for k in keys])


@router.get("/networks")
async def query_networks(
    request: Request, name: str | None = None, state: str | None = None, scopes: list[Scope] = Depends(searched_scopes)
) -> list[str]:
    sandbox = state_of(request)
    return [sk for scope in scopes for sk in sandbox.query_networks(scope, name=name, state=state)]


@router.get("/transformations")
async def query_transformations(
    request: Request, name: str | None = None, scopes: list[Scope] = Depends(searched_scopes)
) -> list[str]:
    sandbox = state_of(request)
    return [sk for scope in scopes for sk in sandbox.query_transformations(scope, name=name)]


@router.get("/chemicalsystems")
async def query_chemicalsystems(
    request: Request, name: str | None = None, scopes: list[Scope] = Depends(searched_scopes)
) -> list[str]:
    sandbox = state_of(request)
    return [sk for scope in scopes for sk in sandbox.query_chemical_systems(scope, name=name)]


@router.get("/tasks")
async def query_tasks(
    request: Request, status: str | None = None, scopes: list[Scope] = Depends(searched_scopes)
) -> list[str]:
    sandbox = state_of(request)
    return [sk for scope in scopes for sk in sandbox.query_tasks(scope, status=status)]


def _lookup(path: str, answer: Callable[[SandboxState, ScopedKey], Any], returns: Any = Any) -> None:
    """A GET answering about the one object its path names (the path's one parameter), in the token's scopes."""
    parameter = path[path.index("{") + 1 : path.index("}")]
    collection, _, *related = path.strip("/").split("/")

    async def endpoint(
        request: Request, scoped_key: str = Path(alias=parameter), token: TokenData = Depends(token_data)
    ) -> Any:
        return answer(state_of(request), authorized_sk(scoped_key, token))

    # The handler's name as when each route had its own (FastAPI's operation id): network_transformations, get_network.
    endpoint.__name__ = endpoint.__qualname__ = "_".join(
        [collection[:-1], *related] if related else ["get", collection[:-1]]
    )
    router.get(path, response_model=returns)(endpoint)


def _related(keys: Callable[[SandboxState, str], list[str]]) -> Callable[[SandboxState, ScopedKey], list[str]]:
    return lambda sandbox, sk: keys(sandbox, str(sk))


# The keys related to a network, transformation or chemical system; then each one's keyed chain.
for _path, _keys in (
    ("/networks/{network_scoped_key}/transformations", SandboxState.transformations),
    ("/transformations/{transformation_scoped_key}/networks", SandboxState.transformation_networks),
    ("/networks/{network_scoped_key}/chemicalsystems", SandboxState.network_chemical_systems),
    ("/chemicalsystems/{chemicalsystem_scoped_key}/networks", SandboxState.chemical_system_networks),
    ("/transformations/{transformation_scoped_key}/chemicalsystems", SandboxState.transformation_chemical_systems),
    ("/chemicalsystems/{chemicalsystem_scoped_key}/transformations", SandboxState.chemical_system_transformations),
):
    _lookup(_path, _related(_keys), list[str])
for _path in (
    "/networks/{network_scoped_key}",
    "/transformations/{transformation_scoped_key}",
    "/chemicalsystems/{chemicalsystem_scoped_key}",
):
    _lookup(_path, SandboxState.object_chain)
