"""Fault injection and request counting, wrapped around the sandbox's ASGI app.

`SandboxFrontDoor` sits outermost (directly under uvicorn), so a dropped request can close
the real TCP connection without a single byte of response, which is what a client sees
when a server or proxy dies mid-request. Admin routes under `/_sandbox/` are never
faulted or counted.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

ADMIN_PREFIX = "/_sandbox"
ROUTE_TEMPLATE_KEY = "sandbox.route_template"  # set by handlers outside FastAPI's router

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class _Rule:
    kind: str  # "fail" | "delay" | "drop" | "answer"
    remaining: int
    path_prefix: str | None
    status: int = 503
    seconds: float = 0.0
    after_processing: bool = False
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path_prefix is None or path.startswith(self.path_prefix))


class Faults:
    """Switches for the next requests; thread-safe, usable from tests while serving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._outage = False

    def fail_next(self, count: int, status: int = 503, path_prefix: str | None = None) -> None:
        """Answer the next `count` matching requests with `status` without processing them."""
        self._add(_Rule("fail", count, path_prefix, status=status))

    def delay_next(self, count: int, seconds: float, path_prefix: str | None = None) -> None:
        """Hold the next `count` matching requests for `seconds` before processing them."""
        self._add(_Rule("delay", count, path_prefix, seconds=seconds))

    def drop_next(self, count: int, path_prefix: str | None = None, *, after_processing: bool = False) -> None:
        """Close the connection of the next `count` matching requests without answering.

        With `after_processing` the request takes effect first and only the response is
        lost (the case that makes non-idempotent task creation dangerous to retry).
        """
        self._add(_Rule("drop", count, path_prefix, after_processing=after_processing))

    def answer_next(
        self,
        count: int,
        status: int,
        body: str | bytes,
        *,
        content_type: str = "text/html",
        headers: dict[str, str] | None = None,
        path_prefix: str | None = None,
        after_processing: bool = False,
    ) -> None:
        """Answer the next `count` matching requests with this exact response, unprocessed.

        What a proxy or load balancer in front of alchemiscale sends: a 429 with
        `Retry-After`, an HTML error page, a 200 with broken or wrong-shaped JSON. With
        `after_processing` the request takes effect first and its real answer is replaced
        (a proxy that gave up waiting for the server's answer).
        """
        data = body.encode() if isinstance(body, str) else bytes(body)
        extra = tuple((headers or {}).items())
        self._add(
            _Rule(
                "answer",
                count,
                path_prefix,
                status=status,
                after_processing=after_processing,
                body=data,
                headers=(("content-type", content_type), *extra),
            )
        )

    def outage(self, active: bool) -> None:
        """While active every request is answered 503."""
        with self._lock:
            self._outage = active

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._outage = False

    @property
    def in_outage(self) -> bool:
        return self._outage

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**r.__dict__, "body": r.body.decode("utf-8", "replace"), "headers": dict(r.headers)}
                for r in self._rules
                if r.remaining > 0
            ]

    def _add(self, rule: _Rule) -> None:
        if rule.remaining < 0:
            raise ValueError(f"count must be >= 0, got {rule.remaining}")
        with self._lock:
            self._rules.append(rule)

    def take(self, path: str) -> _Rule | None:
        """The fault for this request (one per request, oldest matching rule first)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(path):
                    rule.remaining -= 1
                    return rule
            self._rules = [r for r in self._rules if r.remaining > 0]
            return None


class RequestLog:
    """Requests served, counted by `METHOD /path/{template}` (admin routes excluded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, method: str, template: str) -> None:
        with self._lock:
            self._counts[f"{method} {template}"] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def count(self, method: str | None = None, template: str | None = None) -> int:
        """Requests matching a method and/or path template (both optional)."""
        with self._lock:
            return sum(
                n
                for key, n in self._counts.items()
                if (method is None or key.split(" ", 1)[0] == method)
                and (template is None or key.split(" ", 1)[1] == template)
            )

    def by_route(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def __getitem__(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def __repr__(self) -> str:
        return f"RequestLog(total={self.total})"


class SandboxFrontDoor:
    """ASGI wrapper applying faults and counting requests around the FastAPI app."""

    def __init__(self, app: ASGIApp, faults: Faults, requests: RequestLog) -> None:
        self.app = app
        self.faults = faults
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        raw_send, send = send, _closing_after_500(send)
        if self.faults.in_outage:
            self._record(scope)
            await _answer(send, 503, {"detail": "sandbox outage: service unavailable"})
            return
        rule = self.faults.take(path)
        if rule is None or rule.kind == "delay":
            if rule is not None:
                await asyncio.sleep(rule.seconds)
            await self.app(scope, receive, self._counting(scope, send))
        elif rule.kind == "answer":
            if rule.after_processing:
                await self.app(scope, receive, _discard)
            self._record(scope)
            await _answer_raw(send, rule.status, rule.body, rule.headers)
        elif rule.kind == "fail":
            self._record(scope)
            if rule.status == 500:
                await _answer_text(send, 500, "Internal Server Error")
            else:
                await _answer(send, rule.status, {"detail": f"injected fault: HTTP {rule.status}"})
        else:
            if rule.after_processing:
                await self.app(scope, receive, _discard)
            self._record(scope)
            await _drop_connection(raw_send)

    def _counting(self, scope: Scope, send: Send) -> Send:
        """Count the request when its response starts: before the client can see it, so a
        test reading the count right after its request returns never races the server."""
        recorded = False

        async def counting_send(message: MutableMapping[str, Any]) -> None:
            nonlocal recorded
            if not recorded and message["type"] == "http.response.start":
                recorded = True
                self._record(scope)
            await send(message)

        return counting_send

    def _record(self, scope: Scope) -> None:
        template = scope.get(ROUTE_TEMPLATE_KEY) or getattr(scope.get("route"), "path", None) or scope["path"]
        self.requests.record(scope["method"], template)


def _closing_after_500(send: Send) -> Send:
    """Close the connection once a 500 has been sent, as alchemiscale's servers do.

    There, a 500 is an unhandled exception: Starlette sends the answer, then uvicorn closes
    the transport, with no `Connection: close` header to warn the client, whose next
    request on that kept-alive connection is then reset.
    """
    cycle = getattr(send, "__self__", None)
    status = 0

    async def send_then_close(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)
        if status == 500 and message["type"] == "http.response.body" and not message.get("more_body", False):
            transport = getattr(cycle, "transport", None)
            if transport is None:
                raise RuntimeError("closing after a 500 needs the sandbox to be served by uvicorn")
            transport.close()  # after the answer: asyncio flushes what was written first

    return send_then_close


async def _discard(message: MutableMapping[str, Any]) -> None:
    return None


async def _drop_connection(send: Send) -> None:
    # uvicorn's `send` is a bound method of the per-request cycle, which owns the transport.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop faults need the sandbox to be served by uvicorn")
    transport.close()
    # Let the protocol notice the closed connection so uvicorn does not try to answer 500.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.001)


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _answer_raw(send: Send, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers] + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _answer_text(send: Send, status: int, text: str) -> None:
    data = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
