"""The sandbox's HTTP face: alchemiscale 0.8.0's user-facing routes over `SandboxState`.

Handlers only parse, check scopes and translate: request shapes (embedded vs bare bodies,
ScopedKey objects vs strings, query vs body parameters) are declared the way upstream
declares them, so FastAPI produces the same 422s; `BadRequest` becomes 400 with a string
detail and `ServerFault` a plain-text 500, which is how the real server reports the
crashes it has on some inputs.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse

from strategy_operator_dev.sandbox.auth import TokenIssuer
from strategy_operator_dev.sandbox.routes import hub, identity, networks, restarts, results, statuses, strategies, tasks
from strategy_operator_dev.sandbox.routes.common import API_TITLE
from strategy_operator_dev.sandbox.state import (
    BadRequest,
    SandboxState,
    ServerFault,
)

# Included in this order (the order upstream's routes were declared in one module).
AREAS = (networks, tasks, hub, restarts, statuses, results, strategies)


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadRequest)
    return JSONResponse({"detail": exc.detail}, status_code=400)


async def _server_fault(request: Request, exc: Exception) -> PlainTextResponse:
    return PlainTextResponse("Internal Server Error", status_code=500)


def create_app(state: SandboxState, tokens: TokenIssuer, *, admin: APIRouter | None = None) -> FastAPI:
    """The FastAPI app; wrap it in `faults.SandboxFrontDoor` to serve it."""
    app = FastAPI(title=API_TITLE)
    app.state.sandbox = state
    app.state.tokens = tokens
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
    app.add_exception_handler(BadRequest, _bad_request)
    app.add_exception_handler(ServerFault, _server_fault)
    app.include_router(identity.public)
    app.include_router(identity.router)
    for area in AREAS:
        app.include_router(area.router)
    if admin is not None:
        app.include_router(admin)
    return app
