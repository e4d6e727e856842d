"""Task status and priority."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request

from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    ScopedKeyObject,
    authorized_sk,
    covered_or_none,
    state_of,
    token_data,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


@router.post("/bulk/tasks/priority/get")
async def tasks_priority_get(
    request: Request, tasks: list[ScopedKeyObject] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[int | None]:
    return state_of(request).task_priorities(covered_or_none(tasks, token))


@router.post("/bulk/tasks/priority/set")
async def tasks_priority_set(
    request: Request,
    tasks: list[ScopedKeyObject] = Body(embed=True),
    priority: int = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    return state_of(request).set_task_priorities(covered_or_none(tasks, token), priority)


@router.post("/bulk/tasks/status/get")
async def tasks_status_get(
    request: Request, tasks: list[ScopedKeyObject] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[str | None]:
    return state_of(request).task_statuses(covered_or_none(tasks, token))


@router.post("/bulk/tasks/status/set")
async def tasks_status_set(
    request: Request,
    tasks: list[ScopedKeyObject] = Body(),
    status: str = Body(),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    sandbox = state_of(request)
    sandbox.check_user_status(status)  # upstream validates the status before anything else
    return sandbox.set_task_status(covered_or_none(tasks, token), status)


@router.post("/tasks/{task_scoped_key}/status")
async def set_task_status(
    task_scoped_key: str, request: Request, status: str = Body(), token: TokenData = Depends(token_data)
) -> str | None:
    sandbox = state_of(request)
    sandbox.check_user_status(status)
    sk = authorized_sk(task_scoped_key, token)
    return sandbox.set_task_status([str(sk)], status)[0]


@router.get("/tasks/{task_scoped_key}/status")
async def get_task_status(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> str:
    return state_of(request).task_status(str(authorized_sk(task_scoped_key, token)))


@router.get("/tasks/{task_scoped_key}/transformation")
async def get_task_transformation(
    task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str:
    return state_of(request).task_transformation(str(authorized_sk(task_scoped_key, token)))
