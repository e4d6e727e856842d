"""Task restart patterns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    authorized_sk,
    authorized_sks,
    state_of,
    token_data,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.post("/networks/{network_scoped_key}/restartpatterns/add")
async def add_restart_patterns(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    num_allowed_restarts: int = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).add_restart_patterns(authorized_sk(network_scoped_key, token), patterns, num_allowed_restarts)


@router.post("/networks/{network_scoped_key}/restartpatterns/remove")
async def remove_restart_patterns(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).remove_restart_patterns(authorized_sk(network_scoped_key, token), patterns)


@router.get("/networks/{network_scoped_key}/restartpatterns/clear")
async def clear_restart_patterns(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    state_of(request).clear_restart_patterns(authorized_sk(network_scoped_key, token))
    return [network_scoped_key]


@router.post("/bulk/networks/restartpatterns/get")
async def get_restart_patterns(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> dict[str, list[list[Any]]]:
    keys = authorized_sks(networks, token)
    return state_of(request).restart_patterns(keys)


@router.post("/networks/{network_scoped_key}/restartpatterns/maxretries")
async def set_restart_patterns_max_retries(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    max_retries: int = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).set_restart_patterns_max_retries(authorized_sk(network_scoped_key, token), patterns, max_retries)
