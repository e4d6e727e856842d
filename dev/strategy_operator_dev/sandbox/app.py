"""The sandbox's HTTP face: alchemiscale 0.8.0's user-facing routes over `SandboxState`.

Handlers only parse, check scopes and translate: request shapes (embedded vs bare bodies,
ScopedKey objects vs strings, query vs body parameters) are declared the way upstream
declares them, so FastAPI produces the same 422s; `BadRequest` becomes 400 with a string
detail and `ServerFault` a plain-text 500, which is how the real server reports the
crashes it has on some inputs.
"""

from __future__ import annotations

import functools
import gzip
import json
import string
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from strategy_operator.scopedkey import InvalidScopedKey, Scope, ScopedKey
from strategy_operator_dev.sandbox.auth import (
    InvalidToken,
    TokenData,
    TokenIssuer,
    is_covered,
    parse_query_scope,
    query_scope_space,
    scope_denied_detail,
)
from strategy_operator_dev.sandbox.state import (
    TASK_STATUSES,
    BadRequest,
    SandboxState,
    ServerFault,
    strategy_state_json,
)

API_TITLE = "AlchemiscaleAPI"
BAD_QUERY_SCOPE = (
    "Requested Scope cannot be processed as a 3-object tuple of form"
    '"X-Y-Z" and cast to string. Alpha numerical values (a-z A-Z 0-9) and "*" are accepted for '
    'parameter "scope"'
)
BEARER = {"WWW-Authenticate": "Bearer"}


# -- request plumbing ------------------------------------------------------------------


class SandboxRoute(APIRoute):
    """Accepts `Content-Encoding: gzip` request bodies, as upstream's router does, and
    renders handler results straight to JSON: FastAPI would otherwise re-validate every
    element of a return-annotated list, which dominates large listings."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _rendered_as_json(endpoint), **kwargs)

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            if "gzip" in request.headers.getlist("Content-Encoding"):
                body = gzip.decompress(await request.body())
                request._body = body  # Starlette caches the body here; handlers read the inflated one
            return await handler(request)

        return route_handler


def _rendered_as_json(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    async def render(*args: Any, **kwargs: Any) -> Response:
        result = await endpoint(*args, **kwargs)
        return result if isinstance(result, Response) else JSONResponse(result)

    return render


_GUFE_KEY_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-")


class ScopedKeyObject(BaseModel):
    """A ScopedKey in JSON object form. A plain string crashes upstream's validator (500)."""

    gufe_key: str
    org: str
    campaign: str
    project: str

    @model_validator(mode="before")
    @classmethod
    def _objects_only(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ServerFault("a ScopedKey object is required here, not a string")
        return value

    @field_validator("gufe_key", mode="before")
    @classmethod
    def _gufe_key(cls, value: Any) -> str:
        # Upstream's checks and messages; as ValueErrors they become FastAPI's 422. The scope
        # components are not checked here, as upstream does not.
        value = str(value)
        if len(value.split("-")) != 2:
            raise ValueError("gufe_key must be of the form '<prefix>-<hex>'")
        value = unicodedata.normalize("NFC", value)
        if not set(value) <= _GUFE_KEY_CHARACTERS:
            raise ValueError("gufe_key contains invalid characters")
        return value

    def text(self) -> str:
        """The string form, unparsed: where upstream only compares it, odd scope
        components simply match nothing."""
        return f"{self.gufe_key}-{self.org}-{self.campaign}-{self.project}"

    def to_sk(self) -> ScopedKey:
        """Parsed; a 500 for what upstream's Scope would reject, as where upstream builds one."""
        return parse_sk(self.text())


def parse_sk(text: str) -> ScopedKey:
    try:
        return ScopedKey.from_str(text)
    except InvalidScopedKey as exc:
        raise ServerFault(str(exc)) from None


_oauth2 = OAuth2PasswordBearer(tokenUrl="token")


async def token_data(request: Request, token: str = Depends(_oauth2)) -> TokenData:
    # async: a sync dependency would cost a thread-pool hop on every request
    tokens: TokenIssuer = request.app.state.tokens
    try:
        return tokens.decode(token)
    except InvalidToken:
        raise HTTPException(401, "Could not validate credentials", headers=BEARER) from None


def require_scope(scope: Scope, token: TokenData) -> None:
    if not is_covered(scope, token.scopes):
        raise HTTPException(401, scope_denied_detail(scope, token.scopes), headers=BEARER)


def covered_or_none(keys: list[ScopedKeyObject], token: TokenData) -> list[str | None]:
    """Bulk task endpoints treat a task outside the token's scopes as absent."""
    out: list[str | None] = []
    for obj in keys:
        sk = obj.to_sk()
        out.append(str(sk) if is_covered(sk.scope, token.scopes) else None)
    return out


async def query_scope(org: str | None = None, campaign: str | None = None, project: str | None = None) -> Scope:
    try:
        return parse_query_scope(org, campaign, project)
    except InvalidScopedKey:
        raise HTTPException(400, BAD_QUERY_SCOPE, headers=BEARER) from None


def state_of(request: Request) -> SandboxState:
    return request.app.state.sandbox


def checked_status(status: str | None) -> str | None:
    if status is not None and status not in TASK_STATUSES:
        raise BadRequest(f"'{status}' is not a valid TaskStatusEnum")
    return status


# -- routes ------------------------------------------------------------------------------

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


# networks and structure


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


def _scoped(text: str, token: TokenData) -> ScopedKey:
    sk = parse_sk(text)
    require_scope(sk.scope, token)
    return sk


@router.get("/networks/{network_scoped_key}/transformations")
async def network_transformations(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformations(str(_scoped(network_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/networks")
async def transformation_networks(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_networks(str(_scoped(transformation_scoped_key, token)))


@router.get("/networks/{network_scoped_key}/chemicalsystems")
async def network_chemicalsystems(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).network_chemical_systems(str(_scoped(network_scoped_key, token)))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}/networks")
async def chemicalsystem_networks(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).chemical_system_networks(str(_scoped(chemicalsystem_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/chemicalsystems")
async def transformation_chemicalsystems(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_chemical_systems(str(_scoped(transformation_scoped_key, token)))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}/transformations")
async def chemicalsystem_transformations(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).chemical_system_transformations(str(_scoped(chemicalsystem_scoped_key, token)))


@router.get("/networks/{network_scoped_key}")
async def get_network(network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> Any:
    return state_of(request).object_chain(_scoped(network_scoped_key, token))


@router.get("/transformations/{transformation_scoped_key}")
async def get_transformation(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    return state_of(request).object_chain(_scoped(transformation_scoped_key, token))


@router.get("/chemicalsystems/{chemicalsystem_scoped_key}")
async def get_chemicalsystem(
    chemicalsystem_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    return state_of(request).object_chain(_scoped(chemicalsystem_scoped_key, token))


# tasks


@router.post("/transformations/{transformation_scoped_key}/tasks")
async def create_tasks(
    transformation_scoped_key: str,
    request: Request,
    extends: ScopedKeyObject | None = None,
    count: int = Body(...),
    token: TokenData = Depends(token_data),
) -> list[str]:
    sk = _scoped(transformation_scoped_key, token)
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
    keys = [parse_sk(t) for t in transformations]
    for sk in keys:
        require_scope(sk.scope, token)
    ext = None if extends is None else [None if not e else parse_sk(e) for e in extends]
    return state_of(request).create_tasks(keys, ext, creator=token.entity)


@router.get("/networks/{network_scoped_key}/tasks")
async def network_tasks(
    network_scoped_key: str, request: Request, status: str | None = None, token: TokenData = Depends(token_data)
) -> list[str]:
    sk = _scoped(network_scoped_key, token)
    return state_of(request).network_tasks(str(sk), checked_status(status))


@router.get("/tasks/{task_scoped_key}/networks")
async def task_networks(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> list[str]:
    return state_of(request).task_networks(str(_scoped(task_scoped_key, token)))


@router.get("/transformations/{transformation_scoped_key}/tasks")
async def transformation_tasks(
    transformation_scoped_key: str,
    request: Request,
    extends: str | None = None,
    return_as: str = "list",
    status: str | None = None,
    token: TokenData = Depends(token_data),
) -> Any:
    sk = _scoped(transformation_scoped_key, token)
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
    return state_of(request).network_status(str(_scoped(network_scoped_key, token)))


@router.post("/bulk/networks/status")
async def networks_status(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[dict[str, int]]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).networks_status([str(k) for k in keys])


@router.get("/transformations/{transformation_scoped_key}/status")
async def transformation_status(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> dict[str, int]:
    return state_of(request).transformation_status(str(_scoped(transformation_scoped_key, token)))


# TaskHub


def _actioned(found: dict[str, float], task_weights: bool) -> Any:
    return found if task_weights else list(found)


@router.post("/networks/{network_scoped_key}/tasks/actioned")
async def network_actioned_tasks(
    network_scoped_key: str,
    request: Request,
    task_weights: bool = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> Any:
    sk = _scoped(network_scoped_key, token)
    return _actioned(state_of(request).actioned_tasks(sk), task_weights)


@router.post("/bulk/networks/tasks/actioned")
async def networks_actioned_tasks(
    request: Request,
    networks: list[str] = Body(embed=True),
    task_weights: bool = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[Any]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
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
    sk = _scoped(task_scoped_key, token)
    return _actioned(state_of(request).task_actioned_networks(str(sk)), task_weights)


@router.post("/networks/{network_scoped_key}/tasks/action")
async def action_tasks(
    network_scoped_key: str,
    request: Request,
    tasks: list[ScopedKeyObject] = Body(embed=True),
    weight: float | list[float] | None = Body(None, embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    sk = _scoped(network_scoped_key, token)
    return state_of(request).action_tasks(sk, [t.text() for t in tasks], weight)


@router.post("/networks/{network_scoped_key}/tasks/cancel")
async def cancel_tasks(
    network_scoped_key: str,
    request: Request,
    tasks: list[ScopedKeyObject] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    sk = _scoped(network_scoped_key, token)
    return state_of(request).cancel_tasks(sk, [t.text() for t in tasks])


@router.get("/networks/{network_scoped_key}/weight")
async def network_weight(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> float | None:
    return state_of(request).hub_weights([str(_scoped(network_scoped_key, token))])[0]


@router.post("/bulk/networks/weight/get")
async def networks_weight(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> list[float | None]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).hub_weights([str(k) for k in keys])


@router.post("/networks/{network_scoped_key}/weight")
async def set_network_weight(
    network_scoped_key: str, request: Request, weight: float = Body(), token: TokenData = Depends(token_data)
) -> str | None:
    sk = _scoped(network_scoped_key, token)
    return state_of(request).set_hub_weights([str(sk)], [weight])[0]


@router.post("/bulk/networks/weight/set")
async def set_networks_weight(
    request: Request,
    networks: list[str] = Body(embed=True),
    weights: list[float] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> list[str | None]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).set_hub_weights([str(k) for k in keys], weights)


# task restart patterns


@router.post("/networks/{network_scoped_key}/restartpatterns/add")
async def add_restart_patterns(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    num_allowed_restarts: int = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).add_restart_patterns(_scoped(network_scoped_key, token), patterns, num_allowed_restarts)


@router.post("/networks/{network_scoped_key}/restartpatterns/remove")
async def remove_restart_patterns(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).remove_restart_patterns(_scoped(network_scoped_key, token), patterns)


@router.get("/networks/{network_scoped_key}/restartpatterns/clear")
async def clear_restart_patterns(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    state_of(request).clear_restart_patterns(_scoped(network_scoped_key, token))
    return [network_scoped_key]


@router.post("/bulk/networks/restartpatterns/get")
async def get_restart_patterns(
    request: Request, networks: list[str] = Body(embed=True), token: TokenData = Depends(token_data)
) -> dict[str, list[list[Any]]]:
    keys = [parse_sk(n) for n in networks]
    for sk in keys:
        require_scope(sk.scope, token)
    return state_of(request).restart_patterns(keys)


@router.post("/networks/{network_scoped_key}/restartpatterns/maxretries")
async def set_restart_patterns_max_retries(
    network_scoped_key: str,
    request: Request,
    patterns: list[str] = Body(embed=True),
    max_retries: int = Body(embed=True),
    token: TokenData = Depends(token_data),
) -> None:
    state_of(request).set_restart_patterns_max_retries(_scoped(network_scoped_key, token), patterns, max_retries)


# task status and priority


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
    sk = _scoped(task_scoped_key, token)
    return sandbox.set_task_status([str(sk)], status)[0]


@router.get("/tasks/{task_scoped_key}/status")
async def get_task_status(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> str:
    return state_of(request).task_status(str(_scoped(task_scoped_key, token)))


@router.get("/tasks/{task_scoped_key}/transformation")
async def get_task_transformation(
    task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str:
    return state_of(request).task_transformation(str(_scoped(task_scoped_key, token)))


# results


@router.get("/transformations/{transformation_scoped_key}/results")
async def transformation_results(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_results(str(_scoped(transformation_scoped_key, token)), ok=True)


@router.get("/transformations/{transformation_scoped_key}/failures")
async def transformation_failures(
    transformation_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> list[str]:
    return state_of(request).transformation_results(str(_scoped(transformation_scoped_key, token)), ok=False)


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
    return state_of(request).task_results(str(_scoped(task_scoped_key, token)), ok=True)


@router.get("/tasks/{task_scoped_key}/failures")
async def task_failures(task_scoped_key: str, request: Request, token: TokenData = Depends(token_data)) -> list[str]:
    return state_of(request).task_results(str(_scoped(task_scoped_key, token)), ok=False)


# strategies


def _check_keyed_chain(chain: Any) -> list[Any]:
    if not isinstance(chain, list) or not chain:
        raise ValueError("a strategy must be a non-empty keyed chain: a list of [gufe_key, dict] pairs")
    for i, entry in enumerate(chain):
        if not (
            isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict)
        ):
            raise ValueError(f"keyed chain entry {i} is not a [gufe_key, dict] pair")
        if len(entry[0].split("-")) != 2 or "__qualname__" not in entry[1]:
            raise ValueError(f"keyed chain entry {i} lacks a '<qualname>-<token>' key or a '__qualname__'")
    return chain


@router.post("/networks/{network_scoped_key}/strategy")
async def set_network_strategy(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    sk = _scoped(network_scoped_key, token)
    try:
        body = json.loads((await request.body()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServerFault(f"strategy body is not JSON: {exc}") from None
    try:
        chain = body.pop("strategy")
        if chain is not None:
            _check_keyed_chain(chain)
    except Exception as exc:  # upstream reports any decoding problem as a 422 string
        raise HTTPException(422, str(exc)) from None
    sandbox = state_of(request)
    if chain is None:
        return sandbox.set_strategy(sk, None, {})
    try:
        return sandbox.set_strategy(sk, chain, body)
    except ValidationError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/networks/{network_scoped_key}/strategy")
async def get_network_strategy(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    record = state_of(request).strategy(str(_scoped(network_scoped_key, token)))
    return record.chain if record is not None else None


@router.get("/networks/{network_scoped_key}/strategy/state")
async def get_network_strategy_state(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    record = state_of(request).strategy(str(_scoped(network_scoped_key, token)))
    return strategy_state_json(record.state) if record is not None else None


@router.get("/networks/{network_scoped_key}/strategy/status")
async def get_network_strategy_status(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    record = state_of(request).strategy(str(_scoped(network_scoped_key, token)))
    return record.state["status"] if record is not None else None


@router.post("/networks/{network_scoped_key}/strategy/awake")
async def set_network_strategy_awake(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    return state_of(request).awaken_strategy(str(_scoped(network_scoped_key, token)))


# -- application -------------------------------------------------------------------------


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
    app.include_router(public)
    app.include_router(router)
    if admin is not None:
        app.include_router(admin)
    return app
