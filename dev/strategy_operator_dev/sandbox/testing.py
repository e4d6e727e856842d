"""`running_sandbox`: a real alchemiscale-compatible HTTP server for tests, in one line.

    with running_sandbox(identities={"alice": ("alice-key", ["acme-tyk2-*"])}) as sb:
        network = sb.state.generate_network("star", systems=5, scope="acme-tyk2-run1")
        ... talk HTTP to sb.url ...

The server listens on a free 127.0.0.1 port in a background thread and is ready when the
block starts; leaving the block stops it (and the compute simulator, if any).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from strategy_operator_dev.sandbox.auth import DEFAULT_TOKEN_LIFETIME, TokenIssuer
from strategy_operator_dev.sandbox.faults import Faults, RequestLog
from strategy_operator_dev.sandbox.server import BackgroundServer, build_sandbox
from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator
from strategy_operator_dev.sandbox.state import SandboxState

__all__ = ["ComputeSettings", "RunningSandbox", "Simulator", "running_sandbox"]


@dataclass
class RunningSandbox:
    url: str
    state: SandboxState
    faults: Faults
    requests: RequestLog
    tokens: TokenIssuer
    simulator: Simulator | None

    def token_for(self, identifier: str, lifetime: float | None = None) -> str:
        """A bearer token for an identity without a `/token` round trip (not counted)."""
        return self.tokens.issue(identifier, self.state.identity_scopes(identifier), lifetime=lifetime)


@contextmanager
def running_sandbox(
    identities: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    compute: ComputeSettings | None = None,
    *,
    start_compute: bool = True,
    seed: int | None = 0,
    shuffle: bool = True,
    last_scope_bug: bool = False,
    host: str = "127.0.0.1",
) -> Iterator[RunningSandbox]:
    """Serve a fresh sandbox. `identities` maps identifier -> (key, scopes). With `compute`
    a simulator is attached (`sb.simulator`) and, unless `start_compute=False`, runs in a
    background thread; otherwise step it by hand. Unordered lists are shuffled by default
    so that clients cannot depend on an incidental order. `host` is the address to listen on:
    loopback, or one inside a network namespace the test made (the e2e node's)."""
    sandbox = build_sandbox(
        token_lifetime=token_lifetime, compute=compute, seed=seed, shuffle=shuffle, last_scope_bug=last_scope_bug
    )
    for identifier, (key, scopes) in (identities or {}).items():
        sandbox.state.add_identity(identifier, key, scopes)
    server = BackgroundServer(sandbox, host=host)
    server.start()
    try:
        if sandbox.simulator is not None and start_compute:
            sandbox.simulator.start()
        yield RunningSandbox(
            url=server.url,
            state=sandbox.state,
            faults=sandbox.faults,
            requests=sandbox.requests,
            tokens=sandbox.tokens,
            simulator=sandbox.simulator,
        )
    finally:
        if sandbox.simulator is not None:
            sandbox.simulator.stop()
        server.stop()
