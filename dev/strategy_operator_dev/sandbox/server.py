"""Serving the sandbox with uvicorn, in the foreground (CLI) or a background thread (tests)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from strategy_operator_dev.sandbox.admin import admin
from strategy_operator_dev.sandbox.app import create_app
from strategy_operator_dev.sandbox.auth import DEFAULT_TOKEN_LIFETIME, TokenIssuer
from strategy_operator_dev.sandbox.fastlane import FastLane
from strategy_operator_dev.sandbox.faults import Faults, RequestLog, SandboxFrontDoor
from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator
from strategy_operator_dev.sandbox.state import SandboxState


@dataclass
class Sandbox:
    """Everything one sandbox consists of; `asgi` is what uvicorn serves."""

    state: SandboxState
    tokens: TokenIssuer
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)
    simulator: Simulator | None = None
    fast_lane: bool = True  # see fastlane.py; off only to compare against the full app

    def __post_init__(self) -> None:
        app = create_app(self.state, self.tokens, admin=admin)
        app.state.faults = self.faults
        app.state.requests = self.requests
        app.state.simulator = self.simulator
        self.app = app
        inner = FastLane(app, self.state, self.tokens) if self.fast_lane else app
        self.asgi = SandboxFrontDoor(inner, self.faults, self.requests)


def build_sandbox(
    *,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    compute: ComputeSettings | None = None,
    seed: int | None = 0,
    shuffle: bool = False,
    last_scope_bug: bool = False,
) -> Sandbox:
    state = SandboxState(seed=seed, shuffle=shuffle, last_scope_bug=last_scope_bug)
    simulator = Simulator(state, compute) if compute is not None else None
    return Sandbox(state=state, tokens=TokenIssuer(lifetime=token_lifetime), simulator=simulator)


def _http_protocol() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def uvicorn_config(sandbox: Sandbox, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    # An explicit protocol: dropped-connection faults rely on uvicorn's per-request cycle
    # object (both implementations have one); httptools parses in C and is much faster.
    return uvicorn.Config(
        sandbox.asgi,
        host=host,
        port=port,
        http=_http_protocol(),
        lifespan="off",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )


class BackgroundServer:
    """uvicorn on an already-bound free port, in a daemon thread."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # is TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(uvicorn_config(sandbox, self.host, self.port))
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"sandbox server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server not ready within {timeout} s")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()


logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
