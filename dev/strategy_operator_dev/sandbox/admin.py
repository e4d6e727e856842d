"""Sandbox-only control endpoints under `/_sandbox/` (no alchemiscale auth, never faulted
or counted), for driving an out-of-process sandbox the way `running_sandbox` is driven
in-process. They do not exist on a real alchemiscale server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request

from strategy_operator.planning.networks import NetworkDefinitionError
from strategy_operator.scopedkey import InvalidScopedKey
from strategy_operator_dev.sandbox.faults import ADMIN_PREFIX, Faults, RequestLog
from strategy_operator_dev.sandbox.state import SandboxState

admin = APIRouter(prefix=ADMIN_PREFIX)


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


def _faults(request: Request) -> Faults:
    return request.app.state.faults


def _requests(request: Request) -> RequestLog:
    return request.app.state.requests


@admin.post("/faults/fail")
async def fail_next(
    request: Request,
    count: int = Body(1, embed=True),
    status: int = Body(503, embed=True),
    path_prefix: str | None = Body(None, embed=True),
) -> dict[str, Any]:
    _faults(request).fail_next(count, status=status, path_prefix=path_prefix)
    return {"pending": _faults(request).pending()}


@admin.post("/faults/delay")
async def delay_next(
    request: Request,
    seconds: float = Body(embed=True),
    count: int = Body(1, embed=True),
    path_prefix: str | None = Body(None, embed=True),
) -> dict[str, Any]:
    _faults(request).delay_next(count, seconds, path_prefix=path_prefix)
    return {"pending": _faults(request).pending()}


@admin.post("/faults/drop")
async def drop_next(
    request: Request,
    count: int = Body(1, embed=True),
    path_prefix: str | None = Body(None, embed=True),
    after_processing: bool = Body(False, embed=True),
) -> dict[str, Any]:
    _faults(request).drop_next(count, path_prefix=path_prefix, after_processing=after_processing)
    return {"pending": _faults(request).pending()}


@admin.post("/faults/answer")
async def answer_next(
    request: Request,
    status: int = Body(embed=True),
    body: str = Body("", embed=True),
    content_type: str = Body("text/html", embed=True),
    headers: dict[str, str] | None = Body(None, embed=True),
    count: int = Body(1, embed=True),
    path_prefix: str | None = Body(None, embed=True),
    after_processing: bool = Body(False, embed=True),
) -> dict[str, Any]:
    _faults(request).answer_next(
        count,
        status,
        body,
        content_type=content_type,
        headers=headers,
        path_prefix=path_prefix,
        after_processing=after_processing,
    )
    return {"pending": _faults(request).pending()}


@admin.post("/faults/outage")
async def outage(request: Request, active: bool = Body(embed=True)) -> dict[str, Any]:
    _faults(request).outage(active)
    return {"outage": active}


@admin.post("/faults/clear")
async def clear_faults(request: Request) -> dict[str, Any]:
    _faults(request).clear()
    return {"pending": []}


@admin.get("/faults")
async def faults(request: Request) -> dict[str, Any]:
    return {"outage": _faults(request).in_outage, "pending": _faults(request).pending()}


@admin.get("/requests")
async def requests_served(request: Request) -> dict[str, Any]:
    log = _requests(request)
    return {"total": log.total, "byRoute": log.by_route()}


@admin.post("/requests/reset")
async def reset_requests(request: Request) -> dict[str, Any]:
    _requests(request).reset()
    return {"total": 0}


@admin.post("/identities")
async def add_identity(
    request: Request,
    identifier: str = Body(embed=True),
    key: str = Body(embed=True),
    scopes: list[str] = Body(embed=True),
) -> dict[str, Any]:
    try:
        _state(request).add_identity(identifier, key, scopes)
    except InvalidScopedKey as exc:
        raise HTTPException(422, f"scopes: {exc}") from None
    return {"identifier": identifier, "scopes": scopes}


@admin.post("/networks")
async def load_network(request: Request, scope: str | None = None) -> dict[str, Any]:
    """Body: a network document (docs/sandbox.md); `?scope=` overrides its scope."""
    try:
        doc = await request.json()
        return {"network": _state(request).load_network(doc, scope=scope)}
    except NetworkDefinitionError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, f"body: not JSON ({exc})") from None


@admin.post("/networks/generate")
async def generate_network(
    request: Request,
    shape: str = Body("star", embed=True),
    systems: int = Body(5, embed=True),
    scope: str = Body("acme-tyk2-run1", embed=True),
    seed: int = Body(0, embed=True),
    transformations: int | None = Body(None, embed=True),
) -> dict[str, Any]:
    try:
        sk = _state(request).generate_network(shape, systems, scope=scope, seed=seed, transformations=transformations)
    except NetworkDefinitionError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"network": sk}


def _task_hook(request: Request, action: str, task_sk: str, **kwargs: Any) -> Any:
    try:
        return getattr(_state(request), action)(task_sk, **kwargs)
    except KeyError:
        raise HTTPException(404, f"no task {task_sk}") from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@admin.post("/tasks/{task_sk}/claim")
async def claim_task(task_sk: str, request: Request) -> dict[str, Any]:
    _task_hook(request, "claim_task", task_sk)
    return {"task": task_sk, "status": "running"}


@admin.post("/tasks/{task_sk}/complete")
async def complete_task(
    task_sk: str,
    request: Request,
    ok: bool = Body(True, embed=True),
    tracebacks: list[str] | None = Body(None, embed=True),
) -> dict[str, Any]:
    ref = _task_hook(request, "complete_task", task_sk, ok=ok, tracebacks=tracebacks)
    return {"task": task_sk, "result": ref}


@admin.post("/tasks/{task_sk}/expire")
async def expire_task(task_sk: str, request: Request) -> dict[str, Any]:
    _task_hook(request, "expire_task", task_sk)
    return {"task": task_sk, "status": "waiting"}


@admin.post("/compute/step")
async def compute_step(request: Request, seconds: float = Body(1.0, embed=True)) -> dict[str, Any]:
    simulator = request.app.state.simulator
    if simulator is None:
        raise HTTPException(409, "no compute simulator configured (start the sandbox with --compute-rate)")
    report = simulator.step(seconds)
    return {"claimed": report.claimed, "completed": report.completed, "failed": report.failed}


@admin.get("/compute")
async def compute_totals(request: Request) -> dict[str, Any]:
    simulator = request.app.state.simulator
    if simulator is None:
        return {"configured": False}
    t = simulator.totals
    return {
        "configured": True,
        "running": simulator.running,
        "claimed": t.claimed,
        "completed": t.completed,
        "failed": t.failed,
    }


@admin.post("/check")
async def set_store_reachable(request: Request, reachable: bool = Body(embed=True)) -> dict[str, Any]:
    _state(request).store_reachable = reachable
    return {"reachable": reachable}
