"""Against the sandbox: the shared client pool (logins and requests counted on the server), the
process-wide SSL context, the snapshotter's resync of late results, the server-side strategy check."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, NetworkSnapshotter
from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.alchemiscale.server_strategy import ServerStrategyActive, check_server_strategy
from strategy_operator.controller.reconcile import SessionCache
from strategy_operator.controller.secrets import SecretCredentials
from strategy_operator.scopedkey import ScopedKey

from .alchemiscale_helpers import ALICE_KEY, SCOPE

ALICE = SecretCredentials("alice", ALICE_KEY)
CHAIN = [
    [
        "ConnectivityStrategy-0123456789abcdef0123456789abcdef",
        {
            "__qualname__": "ConnectivityStrategy",
            "__module__": "stratocaster.strategies.connectivity",
            "settings": {"decay_rate": 0.5, "max_runs": 3},
        },
    ]
]


def _star(sandbox, transformations: int, seed: int = 0) -> str:
    return sandbox.state.generate_network(shape="star", systems=transformations + 1, scope=SCOPE, seed=seed)


async def test_resources_on_one_server_share_one_client_and_one_login(sandbox) -> None:
    networks = [_star(sandbox, 3, seed=i) for i in range(20)]
    pool = ClientPool(timeout=5.0)
    caches = [SessionCache(pool) for _ in networks]
    sandbox.requests.reset()
    sessions = [
        await cache.get(sandbox.url, ALICE, network, True) for cache, network in zip(caches, networks, strict=True)
    ]
    await asyncio.gather(*(s.snapshotter.observe() for s in sessions))
    assert len(pool) == 1 and pool.clients_created == 1
    assert len({id(s.client) for s in sessions}) == 1
    assert sandbox.requests.count("POST", "/token") == 1 == pool.logins()
    assert pool.requests_sent() == sandbox.requests.total

    # A second identity (or a rotated key) is another client; the first stays shared.
    sandbox.state.add_identity("bob", "bob-key-0123456789", ["acme-tyk2-*"])
    other = await caches[0].get(sandbox.url, SecretCredentials("bob", "bob-key-0123456789"), networks[0], True)
    await other.snapshotter.observe()
    assert len(pool) == 2 and sandbox.requests.count("POST", "/token") == 2

    # Deleting resources lets go of the client; the last holder closes it.
    first = sessions[1].client
    for cache in caches[1:]:
        await cache.aclose()
    assert len(pool) == 1 and first.session._http.is_closed
    await caches[0].aclose()
    assert len(pool) == 0
    assert pool.requests_sent() == sandbox.requests.total


async def test_forgetting_a_network_drops_its_tasks_from_the_shared_client(sandbox) -> None:
    pool = ClientPool(timeout=5.0)
    kept, dropped = _star(sandbox, 3, seed=1), _star(sandbox, 3, seed=2)
    for network in (kept, dropped):
        state = sandbox.state
        for transformation in state.transformations(network):
            tasks = state.create_tasks([transformation] * 2)
            state.action_tasks(ScopedKey.from_str(network), tasks)
    one, two = SessionCache(pool), SessionCache(pool)
    first = await one.get(sandbox.url, ALICE, kept, True)
    await first.snapshotter.observe()
    await (await two.get(sandbox.url, ALICE, dropped, True)).snapshotter.observe()
    mapping = first.client.task_transformations
    assert len(mapping) == 12
    await two.aclose()
    kept_transformations = set(sandbox.state.transformations(kept))
    assert len(mapping) == 6 and set(mapping.values()) <= kept_transformations
    await one.aclose()


def test_one_ssl_context_per_process_and_none_for_http() -> None:
    http = AlchemiscaleClient("http://127.0.0.1:1", Credentials("a", "k"))
    https = [AlchemiscaleClient(f"https://alchemiscale.example.org/{i}", Credentials("a", "k")) for i in range(3)]
    assert http.session._http._transport._ssl is False
    contexts = {id(c.session._http._transport._ssl) for c in https}
    assert len(contexts) == 1 and isinstance(https[0].session._http._transport._ssl, ssl.SSLContext)
    unverified = AlchemiscaleClient("https://alchemiscale.example.org", Credentials("a", "k"), verify=False)
    assert unverified.session._http._transport._ssl is False


async def test_a_late_result_on_a_complete_task_is_counted_at_the_next_resync(sandbox, client) -> None:
    network = _star(sandbox, 4)
    state = sandbox.state
    transformation = sorted(state.transformations(network))[0]
    (task,) = state.create_tasks([transformation])
    state.action_tasks(ScopedKey.from_str(network), [task])
    state.claim_task(task)
    state.complete_task(task, ok=True)

    never = NetworkSnapshotter(client, network)  # no resync: what the operator did before
    resyncing = NetworkSnapshotter(client, network, resync_interval=0.5)
    assert (await never.observe_counts()).result_count == 1
    assert (await resyncing.observe_counts()).result_count == 1

    state.complete_task(task, ok=True)  # a second result on a complete task: no status change
    assert (await never.observe_counts()).result_count == 1
    assert (await resyncing.observe_counts()).result_count == 1  # within the interval: not yet
    await asyncio.sleep(0.6)
    counted = await resyncing.observe_counts()
    assert counted.result_count == 2 and resyncing.resyncs == 1
    assert counted.results_read == 4  # every transformation re-read once
    assert (await resyncing.observe_counts()).results_read == 0  # and then cached again
    assert (await never.observe_counts()).result_count == 1


async def test_server_side_strategy_refuses_unless_taken_over(sandbox, client) -> None:
    network = _star(sandbox, 2)
    assert await check_server_strategy(client, network, take_over=False) is None
    sandbox.state.set_strategy(network, CHAIN, {"mode": "partial", "iterations": 4, "sleep_interval": 600})

    with pytest.raises(ServerStrategyActive) as caught:
        await check_server_strategy(client, network, take_over=False)
    message = str(caught.value)
    assert "ConnectivityStrategy (mode partial, status awake)" in message
    assert "spec.takeOverServerStrategy" in message
    assert sandbox.state.strategy(network).state["mode"] == "partial"  # refusing changes nothing

    done = await check_server_strategy(client, network, take_over=True)
    assert done is not None and "now mode disabled" in done
    record = sandbox.state.strategy(network)
    assert record.state["mode"] == "disabled"
    assert (record.state["iterations"], record.state["sleep_interval"]) == (4, 600)  # state kept
    assert record.chain[-1][1]["settings"] == CHAIN[-1][1]["settings"]
    # A disabled server-side strategy is no second owner.
    assert await check_server_strategy(client, network, take_over=False) is None
