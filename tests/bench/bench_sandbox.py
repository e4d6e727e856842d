"""The sandbox's own cost per request, so client benchmarks can tell server time from client time.

For a star network of 5000 transformations with 3 tasks each (one complete, one failed,
one waiting and actioned), it times the FastAPI app alone (ASGI calls, no sockets) for the
endpoints a snapshot uses, then the same over loopback HTTP from a one-connection client in
this process. No targets: the issue's targets are end-to-end (bench_client).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.server import build_sandbox
from strategy_operator_dev.sandbox.testing import running_sandbox

SCOPE = "acme-tyk2-bench"
SIZE = 5000


def _populate(state) -> str:
    network = state.generate_network("star", systems=SIZE + 1, scope=SCOPE, seed=1)
    transformations = sorted(state.transformations(network))
    tasks = state.create_tasks([t for t in transformations for _ in range(3)])
    state.action_tasks(ScopedKey.from_str(network), tasks)
    for index in range(0, len(tasks), 3):
        for task, ok in ((tasks[index], True), (tasks[index + 1], False)):
            state.claim_task(task)
            state.complete_task(task, ok=ok)
    return network


def _requests(network: str, transformation: str) -> list[tuple[str, str, bytes]]:
    body = f'{{"networks": ["{network}"], "task_weights": true}}'.encode()
    return [
        ("per-transformation GET chemicalsystems", "GET", f"/transformations/{transformation}/chemicalsystems", b""),
        ("per-transformation GET results", "GET", f"/transformations/{transformation}/results", b""),
        ("POST /bulk/networks/status", "POST", "/bulk/networks/status", f'{{"networks": ["{network}"]}}'.encode()),
        ("GET /networks/{sk}/transformations (5000)", "GET", f"/networks/{network}/transformations", b""),
        ("POST /bulk/networks/tasks/actioned (5000)", "POST", "/bulk/networks/tasks/actioned", body),
        ("GET /networks/{sk}/tasks?status=waiting", "GET", f"/networks/{network}/tasks", b""),
    ]


async def _asgi_call(app, token: bytes, method: str, path: str, body: bytes) -> int:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("bench", 80),
        "client": ("bench", 1),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        "headers": [
            (b"authorization", b"Bearer " + token),
            (b"content-type", b"application/json"),
            (b"host", b"bench"),
        ],
    }
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _time_asgi() -> None:
    sandbox = build_sandbox(shuffle=True)
    network = _populate(sandbox.state)
    transformation = sorted(sandbox.state.transformations(network))[0]
    token = sandbox.tokens.issue("bench", [SCOPE]).encode()

    async def run() -> None:
        for label, method, path, body in _requests(network, transformation):
            repeat = 200 if label.startswith("per-") else 20
            start = time.perf_counter()
            for _ in range(repeat):
                assert await _asgi_call(sandbox.asgi, token, method, path, body) == 200
            print(f"  app only  {label:45s} {(time.perf_counter() - start) / repeat * 1000:7.2f} ms", flush=True)

    asyncio.run(run())


def _time_http() -> None:
    with running_sandbox(identities={"bench": ("k", [SCOPE])}) as sb:
        network = _populate(sb.state)
        transformation = sorted(sb.state.transformations(network))[0]
        with httpx.Client(
            base_url=sb.url,
            headers={"Authorization": f"Bearer {sb.token_for('bench')}", "content-type": "application/json"},
        ) as client:
            for label, method, path, body in _requests(network, transformation):
                repeat = 200 if label.startswith("per-") else 20
                start = time.perf_counter()
                for _ in range(repeat):
                    client.request(method, path, content=body).raise_for_status()
                print(f"  over HTTP {label:45s} {(time.perf_counter() - start) / repeat * 1000:7.2f} ms", flush=True)


def main() -> None:
    print(f"sandbox, star network of {SIZE} transformations x 3 tasks")
    _time_asgi()
    _time_http()


if __name__ == "__main__":
    main()
