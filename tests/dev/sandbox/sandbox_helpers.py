"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import httpx

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.testing import RunningSandbox


def login(sb: RunningSandbox, identifier: str = "alice", key: str | None = None) -> httpx.Client:
    # No kept-alive connections: like the real server, the sandbox closes the connection after
    # every 500, and these tests send several in a row.
    client = httpx.Client(base_url=sb.url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))
    response = client.post("/token", data={"username": identifier, "password": key or f"{identifier}-key"})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


def objs(task_sks: list[str]) -> list[dict[str, str]]:
    """Task SKs in the ScopedKey object form that task-list bodies require."""
    return [ScopedKey.from_str(t).as_json() for t in task_sks]
