"""The fast lane answers exactly as the full FastAPI app does, and defers every error to it."""

from __future__ import annotations

import httpx
import pytest

from strategy_operator_dev.sandbox.fastlane import FastLane
from strategy_operator_dev.sandbox.server import BackgroundServer, Sandbox, build_sandbox


def _populated() -> tuple[Sandbox, list[str], list[str]]:
    sandbox = build_sandbox(seed=3, shuffle=False)
    sandbox.state.add_identity("alice", "k", ["acme-tyk2-*"])
    network = sandbox.state.load_network(
        {
            "name": "fl",
            "scope": "acme-tyk2-run1",
            "systems": [f"s{i}" for i in range(40)],
            "transformations": [{"stateA": "s0", "stateB": f"s{i}"} for i in range(1, 40)] + [{"system": "s1"}],
        }
    )
    transformations = sorted(sandbox.state.transformations(network))
    tasks = sandbox.state.create_tasks([t for t in transformations for _ in range(2)])
    for index, task in enumerate(tasks):
        sandbox.state.claim_task(task)
        sandbox.state.complete_task(task, ok=index % 2 == 0)
    (child,) = sandbox.state.create_tasks([sandbox.state.tasks[tasks[0]].transformation], [tasks[0]])
    return sandbox, transformations, tasks + [child]


def _paths(transformations: list[str], tasks: list[str]) -> list[str]:
    tf, task = transformations[0], tasks[0]
    foreign = tf.replace("acme-tyk2-run1", "other-x-y")
    ghost_task = task.replace(task.split("-")[1], "0" * 32)
    return [
        *(
            f"/transformations/{t}/{leaf}"
            for t in (tf, transformations[-1])
            for leaf in ("chemicalsystems", "results", "failures", "status")
        ),
        *(f"/tasks/{t}/{leaf}" for t in (task, tasks[-1]) for leaf in ("results", "failures", "transformation")),
        f"/tasks/{ghost_task}/transformation",  # 400
        f"/transformations/{foreign}/results",  # 401 scope
        "/transformations/not-a-key/results",  # 500
        f"/transformations/{tf}/results?x=1",  # query strings always take the full app
    ]


@pytest.fixture(scope="module")
def both():
    """The same state served twice: through the fast lane and through the full app only."""
    sandbox, transformations, tasks = _populated()
    full = Sandbox(state=sandbox.state, tokens=sandbox.tokens, fast_lane=False)
    servers = [BackgroundServer(sandbox), BackgroundServer(full)]
    for server in servers:
        server.start()
    yield servers, transformations, tasks
    for server in servers:
        server.stop()


@pytest.mark.parametrize("auth", ["valid", "missing", "garbage", "basic"])
def test_fast_lane_matches_full_app(both, auth):
    (fast, full), transformations, tasks = both
    token = fast.sandbox.tokens.issue("alice", ["acme-tyk2-*"])
    headers = {
        "valid": lambda t: {"Authorization": f"Bearer {t}"},
        "missing": lambda t: {},
        "garbage": lambda t: {"Authorization": "Bearer nope"},
        "basic": lambda t: {"Authorization": f"Basic {t}"},
    }[auth]
    for path in _paths(transformations, tasks):
        a = httpx.get(fast.url + path, headers=headers(token))
        b = httpx.get(full.url + path, headers=headers(token))
        assert (a.status_code, a.headers["content-type"], a.content) == (
            b.status_code,
            b.headers["content-type"],
            b.content,
        ), path


def test_fast_lane_gzips_large_answers_and_counts_by_template(both):
    (fast, _), transformations, _ = both
    sandbox = fast.sandbox
    network = sandbox.state.generate_network("star", systems=200, scope="acme-tyk2-run1", seed=4)
    tf = sandbox.state.transformations(network)[0]
    sandbox.state.create_tasks([tf] * 60)
    refs = []
    for task in sandbox.state.transformation_tasks(tf):
        sandbox.state.claim_task(task)
        refs.append(sandbox.state.complete_task(task))
    sandbox.requests.reset()
    response = httpx.get(
        f"{fast.url}/transformations/{tf}/results",
        headers={"Authorization": f"Bearer {sandbox.tokens.issue('alice', ['acme-tyk2-*'])}"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert sorted(response.json()) == sorted(refs)
    assert sandbox.requests["GET /transformations/{transformation_scoped_key}/results"] == 1


def test_fast_lane_answers_only_the_happy_path(both):
    (fast, _), transformations, tasks = both
    lane = FastLane(app=None, state=fast.sandbox.state, tokens=fast.sandbox.tokens)  # type: ignore[arg-type]
    token = fast.sandbox.tokens.issue("alice", ["acme-tyk2-*"]).encode()

    def answer(path: str, authorization: bytes = b"Bearer " + token, query: bytes = b"") -> bytes | None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query,
            "headers": [(b"authorization", authorization)],
        }
        return lane._answer(scope)

    tf = transformations[-1]
    assert answer(f"/transformations/{tf}/chemicalsystems") is not None
    assert answer(f"/tasks/{tasks[0]}/transformation") is not None
    assert answer(f"/tasks/{tasks[0].replace(tasks[0].split('-')[1], '0' * 32)}/transformation") is None  # 400 path
    assert answer(f"/transformations/{tf}/chemicalsystems", authorization=b"Bearer bad") is None
    assert answer(f"/transformations/{tf.replace('acme', 'other')}/results") is None
    assert answer("/transformations/bad/results") is None
    assert answer(f"/networks/{tf}/transformations") is None  # not a fast-lane route
