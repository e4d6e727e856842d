"""The TaskHub: actioned tasks, action and cancel, hub weights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    ScopedKeyObject,
    authorized_sk,
    authorized_sks,
    state_of,
    token_data,
)
from strategy_operator_dev.sandbox.state import (
    BadRequest,
    ServerFault,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


def _actioned(found: dict[str, float], task_weights: bool) -> Any:
    return found if task_weights else list(found)


@router.post("/networks/{network_scoped_key}/tasks/actioned")
async def network_actioned_tasks(
    network_scoped_key: str,
    request: Request,
    task_weights: bool = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> Any:
    sk = authorized_sk(network_scoped_key, token)
    return _actioned(state_of(request).actioned_tasks(sk), task_weights)


@router.post("/bulk/networks/tasks/actioned")
async def networks_actioned_tasks(
    request: Request,
    networks: list[str] = Body(embed=True),
    task_weights: bool = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[Any]:
    keys = authorized_sks(networks, token)
    sandbox = state_of(request)
    out = []
    for sk in keys:
        try:
            out.append(_actioned(sandbox.actioned_tasks(sk), task_weights))
        except BadRequest as exc:  # upstream's bulk variant does not catch this
            raise ServerFault(exc.detail) from None
    return out


@router.post("/tasks/{task_scoped_key}/networks/actioned")
async def task_actioned_networks(
    task_scoped_key: str,
    request: Request,
    task_weights: bool = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> Any:
    sk = authorized_sk(task_scoped_key, token)
    return _actioned(state_of(request).task_actioned_networks(str(sk)), task_weights)


@router.post("/networks/{network_scoped_key}/tasks/action")
async def action_tasks(
    network_scoped_key: str,
    request: Request,
    tasks: list[ScopedKeyObject] = Body(embed=True),
    weight: float | list[float] | None = Body(None, embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    sk = authorized_sk(network_scoped_key, token)
    return state_of(request).action_tasks(sk, [t.text() for t in tasks], weight)


@router.post("/networks/{network_scoped_key}/tasks/cancel")
async def cancel_tasks(
    network_scoped_key: str,
    request: Request,
    tasks: list[ScopedKeyObject] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    sk = authorized_sk(network_scoped_key, token)
    return state_of(request).cancel_tasks(sk, [t.text() for t in tasks])


@router.get("/networks/{network_scoped_key}/weight")
async def network_weight(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> float | None:
    return state_of(request).hub_weights([str(authorized_sk(network_scoped_key, token))])[0]


@router.post("/bulk/networks/weight/get")
async def networks_weight(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[float | None]:
    keys = authorized_sks(networks, token)
    return state_of(request).hub_weights([str(k) for k in keys])


@router.post("/networks/{network_scoped_key}/weight")
async def set_network_weight(
    network_scoped_key: str, request: Request, weight: float = Body(), token: TokenData = Depends(token_data)
) -> str | None:
    sk = authorized_sk(network_scoped_key, token)
    return state_of(request).set_hub_weights([str(sk)], [weight])[0]


@router.post("/bulk/networks/weight/set")
async def set_networks_weight(
    request: Request,
    networks: list[str] = Body(embed=True),
    weights: list[float] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    keys = authorized_sks(networks, token)
    return state_of(request).set_hub_weights([str(k) for k in keys], weights)
