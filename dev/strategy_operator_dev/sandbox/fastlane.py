"""A fast lane for the happy path of the hottest read-only GETs.

A cold snapshot reads two small lists per transformation (its chemical systems and its
results), thousands of requests where FastAPI's routing and dependency machinery costs more
than the answer. The fast lane answers exactly those requests when everything is in order
(bearer token valid, scoped key well-formed and covered, no query string) with the same state
call and the same JSON; anything else — a missing or bad token, a malformed key, a scope
denial, a 400 from the state — falls through to the FastAPI app, so every error response
still has one implementation. Read-only calls make the fall-through safe to repeat.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from strategy_operator.scopedkey import InvalidScopedKey, ScopedKey
from strategy_operator_dev.sandbox.auth import InvalidToken, TokenIssuer, is_covered
from strategy_operator_dev.sandbox.faults import ROUTE_TEMPLATE_KEY, ASGIApp, Receive, Scope, Send
from strategy_operator_dev.sandbox.state import SandboxError, SandboxState

GZIP_MINIMUM_SIZE = 1000  # as upstream's GZipMiddleware(minimum_size=1000, compresslevel=5)
GZIP_LEVEL = 5

_Reader = Callable[[SandboxState, str], Any]

# (collection, leaf) -> (template, read); paths are /<collection>/<scoped key>/<leaf>.
_ROUTES: dict[tuple[str, str], tuple[str, _Reader]] = {
    ("transformations", "chemicalsystems"): (
        "/transformations/{transformation_scoped_key}/chemicalsystems",
        lambda state, sk: state.transformation_chemical_systems(sk),
    ),
    ("transformations", "results"): (
        "/transformations/{transformation_scoped_key}/results",
        lambda state, sk: state.transformation_results(sk, ok=True),
    ),
    ("transformations", "failures"): (
        "/transformations/{transformation_scoped_key}/failures",
        lambda state, sk: state.transformation_results(sk, ok=False),
    ),
    ("transformations", "status"): (
        "/transformations/{transformation_scoped_key}/status",
        lambda state, sk: state.transformation_status(sk),
    ),
    ("tasks", "results"): ("/tasks/{task_scoped_key}/results", lambda state, sk: state.task_results(sk, ok=True)),
    ("tasks", "failures"): ("/tasks/{task_scoped_key}/failures", lambda state, sk: state.task_results(sk, ok=False)),
    ("tasks", "transformation"): (
        "/tasks/{task_scoped_key}/transformation",
        lambda state, sk: state.task_transformation(sk),
    ),
}


class FastLane:
    def __init__(self, app: ASGIApp, state: SandboxState, tokens: TokenIssuer) -> None:
        self.app = app
        self.state = state
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            answer = self._answer(scope)
            if answer is not None:
                await _send_json(scope, send, answer)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> bytes | None:
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[0]:
            return None
        route = _ROUTES.get((parts[1], parts[3]))
        if route is None:
            return None
        template, read = route
        token = _bearer(scope)
        if token is None:
            return None
        try:
            token_data = self.tokens.decode(token)
            sk = ScopedKey.from_str(parts[2])
        except (InvalidToken, InvalidScopedKey):
            return None
        if not is_covered(sk.scope, token_data.scopes):
            return None
        try:
            result = read(self.state, parts[2])
        except SandboxError:
            return None
        scope[ROUTE_TEMPLATE_KEY] = template
        return json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials if scheme.lower() == "bearer" and credentials else None
    return None


async def _send_json(scope: Scope, send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")]
    if len(body) >= GZIP_MINIMUM_SIZE and any(
        name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"]
    ):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
