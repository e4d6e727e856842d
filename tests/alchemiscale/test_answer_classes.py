"""Every kind of answer gets a class: busy (429/503 with Retry-After), failing (5xx), not
alchemiscale's (HTML, broken or wrong-shaped JSON) are transient and say what came back; only
alchemiscale's own refusals are errors. The sandbox's fault switch plays the proxy."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from strategy_operator.alchemiscale import (
    AlchemiscaleClient,
    Credentials,
    NetworkNotFound,
    NetworkSnapshotter,
    RequestRejected,
    RetryPolicy,
    TransientError,
)
from strategy_operator.alchemiscale.answers import ServerBusy, UnexpectedAnswer, retry_after
from strategy_operator.alchemiscale.errors import OutcomeUnknown

from .alchemiscale_helpers import ALICE_KEY, SCOPE

PATIENT = RetryPolicy(attempts=3, base_delay=0.01, max_delay=2.0, jitter=0.0)
PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center>" + "<!-- padding -->" * 200 + "</body></html>"
)


@pytest.fixture
async def patient(sandbox):
    async with AlchemiscaleClient(sandbox.url, Credentials("alice", ALICE_KEY), retry=PATIENT) as c:
        await c.info()  # logged in: the faults below hit the request under test, not /token
        yield c


def _network(sandbox, seed: int = 0) -> str:
    return sandbox.state.generate_network(shape="star", systems=3, scope=SCOPE, seed=seed)


async def test_a_short_retry_after_is_waited_for_and_the_request_succeeds(sandbox, patient) -> None:
    network = _network(sandbox)
    sandbox.faults.answer_next(
        1,
        429,
        '{"detail": "slow down"}',
        content_type="application/json",
        headers={"Retry-After": "1"},
        path_prefix="/bulk/networks/status",
    )
    started = time.monotonic()
    assert await patient.networks_status([network]) == [{}]
    assert time.monotonic() - started >= 0.9


async def test_a_long_retry_after_ends_the_request_and_is_handed_to_the_scheduler(sandbox, patient) -> None:
    network = _network(sandbox)
    sandbox.faults.answer_next(
        1,
        429,
        "Too Many Requests",
        content_type="text/plain",
        headers={"Retry-After": "120"},
        path_prefix="/bulk/networks/status",
    )
    with pytest.raises(ServerBusy) as caught:
        await patient.networks_status([network])
    assert caught.value.retry_after == 120 and caught.value.status_code == 429
    assert "HTTP 429, text/plain: 'Too Many Requests'" in str(caught.value)
    assert "retry after 120 s" in str(caught.value)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("processed", [False, True], ids=["unprocessed", "processed"])
async def test_task_creation_answered_busy_is_not_sent_again_and_keeps_retry_after(
    sandbox, patient, status, processed
) -> None:
    # A rate limiter's 429 usually means "not processed", but a proxy can answer 429 or 503
    # after the server created the tasks: sending again could double them.
    network = _network(sandbox)
    transformation = sorted(sandbox.state.transformations(network))[0]
    sandbox.faults.answer_next(
        1,
        status,
        "Service Unavailable" if status == 503 else "Too Many Requests",
        content_type="text/plain",
        headers={"Retry-After": "120"},
        path_prefix="/bulk/transformations/tasks/create",
        after_processing=processed,
    )
    before = patient.requests_sent
    with pytest.raises(OutcomeUnknown) as caught:
        await patient.create_tasks([transformation])
    assert patient.requests_sent == before + 1
    assert caught.value.status_code == status and caught.value.retry_after == 120
    assert f"HTTP {status}, text/plain" in str(caught.value)
    assert "the server asks to wait 120 s" in str(caught.value) and "not repeated" in str(caught.value)
    assert len(sandbox.state.transformation_tasks(transformation)) == (1 if processed else 0)


async def test_task_creation_answered_5xx_without_retry_after_says_no_wait(sandbox, patient) -> None:
    network = _network(sandbox)
    transformation = sorted(sandbox.state.transformations(network))[0]
    sandbox.faults.fail_next(1, status=502, path_prefix="/bulk/transformations/tasks/create")
    with pytest.raises(OutcomeUnknown) as caught:
        await patient.create_tasks([transformation])
    assert caught.value.status_code == 502 and caught.value.retry_after is None
    assert "asks to wait" not in str(caught.value)


def test_retry_after_reads_seconds_and_http_dates_and_caps_them() -> None:
    import httpx

    def answer(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    assert retry_after(answer("7")) == 7
    now = time.time()
    assert 29 <= retry_after(answer(formatdate(now + 30, usegmt=True)), now=now) <= 31
    assert retry_after(answer(formatdate(now - 30, usegmt=True)), now=now) == 0
    assert retry_after(answer("99999999")) == 3600
    assert retry_after(answer("soon")) is None and retry_after(httpx.Response(503)) is None


async def test_a_proxy_error_page_is_transient_and_quoted_briefly(sandbox, patient) -> None:
    network = _network(sandbox)
    sandbox.faults.answer_next(3, 502, PROXY_PAGE, path_prefix="/bulk/networks/status")
    with pytest.raises(TransientError) as caught:
        await patient.networks_status([network])
    message = str(caught.value)
    assert "after 3 attempt(s)" in message and "HTTP 502, text/html" in message and "502 Bad Gateway" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (200, PROXY_PAGE, "text/html", "answered 200 with a body that is not JSON (HTTP 200, text/html: '<html>"),
        (200, '[{"waiting": 1', "application/json", "not JSON (HTTP 200, application/json: '[{\"waiting\": 1'"),
        (200, '{"waiting": 1}', "application/json", "answered dict {'waiting': 1}, expected a list of dict with 1"),
        (200, '[["waiting", 1]]', "application/json", "answered list [['waiting', 1]], expected a list of dict"),
        (200, '[{"waiting": "1"}]', "application/json", "expected an object of task counts by status"),
        (403, "<html><body>Forbidden by policy</body></html>", "text/html", "not an answer of alchemiscale (HTTP 403"),
        (302, "", "text/html", "not an answer of alchemiscale (HTTP 302, text/html, empty body)"),
    ],
)
async def test_answers_that_are_not_alchemiscale_s_are_transient_and_say_what_came_back(
    sandbox, patient, status, body, content_type, expected
) -> None:
    network = _network(sandbox)
    sandbox.faults.answer_next(1, status, body, content_type=content_type, path_prefix="/bulk/networks/status")
    with pytest.raises(UnexpectedAnswer) as caught:
        await patient.networks_status([network])
    assert isinstance(caught.value, TransientError)
    assert expected in str(caught.value)
    assert "KeyError" not in str(caught.value)


async def test_a_wrong_shaped_answer_in_a_snapshot_is_transient_not_a_bare_key_error(sandbox, patient) -> None:
    network = _network(sandbox)
    sandbox.faults.answer_next(
        1, 200, '{"0": {}}', content_type="application/json", path_prefix="/bulk/networks/status"
    )
    with pytest.raises(UnexpectedAnswer, match="POST /bulk/networks/status answered dict"):
        await NetworkSnapshotter(patient, network).observe()


async def test_a_wrong_shaped_creation_answer_is_outcome_unknown(sandbox, patient) -> None:
    network = _network(sandbox)
    transformation = sorted(sandbox.state.transformations(network))[0]
    sandbox.faults.answer_next(
        1, 200, '{"tasks": []}', content_type="application/json", path_prefix="/bulk/transformations/tasks/create"
    )
    with pytest.raises(OutcomeUnknown, match="task creation answered dict"):
        await patient.create_tasks([transformation])


async def test_alchemiscale_s_own_json_refusals_stay_errors(sandbox, patient) -> None:
    sandbox.faults.answer_next(1, 404, '{"detail": "Not Found"}', content_type="application/json", path_prefix="/info")
    with pytest.raises(RequestRejected) as caught:
        await patient.info()
    assert not isinstance(caught.value, TransientError)
    assert "wrong server URL" in str(caught.value)


async def test_a_network_that_disappears_is_noticed_and_one_that_returns_is_read_again(sandbox, patient) -> None:
    network = _network(sandbox, seed=3)
    snapshotter = NetworkSnapshotter(patient, network)
    first = await snapshotter.observe()
    assert len(first.transformations) == 2
    sandbox.state.remove_network(network)
    with pytest.raises(NetworkNotFound, match="does not exist"):
        await snapshotter.observe()
    with pytest.raises(NetworkNotFound):
        await snapshotter.observe_counts()
    assert _network(sandbox, seed=3) == network
    assert (await snapshotter.observe()).transformations == first.transformations


async def test_a_request_that_says_the_network_is_gone_is_network_not_found(sandbox, patient) -> None:
    network = _network(sandbox, seed=4)
    sandbox.faults.answer_next(
        1,
        400,
        '{"detail": "\'No such object in database\'"}',
        content_type="application/json",
        path_prefix=f"/networks/{network}/tasks",
    )
    with pytest.raises(NetworkNotFound, match=network):
        await patient.network_tasks(network, "waiting")
