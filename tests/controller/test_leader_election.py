"""The Lease rules against a real API server: a leader cut off from it stops acting before any
standby starts, and a released Lease is taken within a retry period."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from strategy_operator.controller.leader import LeaderElector, LeaseTimings

TIMINGS = LeaseTimings.for_duration(3.0)  # renew deadline 2 s, retry period 0.4 s


class CutOff:
    """The Lease API, until `cut` is set: then every call fails as a partitioned network would."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.cut = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.api, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.cut:
                from urllib3.exceptions import ConnectTimeoutError

                raise ConnectTimeoutError("partitioned")
            return method(*args, **kwargs)

        return call


@pytest.fixture
def lease_api(control_plane):
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    yield client.CoordinationV1Api(api_client)
    api_client.close()


def test_lease_timings_keep_the_renew_deadline_inside_the_lease() -> None:
    assert (TIMINGS.lease_duration, TIMINGS.renew_deadline) == (3.0, 2.0)
    with pytest.raises(ValueError):
        LeaseTimings(lease_duration=5, renew_deadline=5, retry_period=1)


async def test_a_cut_off_leader_stops_before_a_standby_starts(lease_api, namespace) -> None:
    cut_off = CutOff(lease_api)
    leader = LeaderElector(namespace, "election", identity="a", timings=TIMINGS, api=cut_off)
    standby = LeaderElector(namespace, "election", identity="b", timings=TIMINGS, api=lease_api)
    await leader.acquire()
    lost: list[float] = []
    keeping = asyncio.create_task(leader.keep(lambda: lost.append(time.monotonic())))
    taking = asyncio.create_task(standby.acquire())
    try:
        await asyncio.sleep(2 * TIMINGS.lease_duration)
        assert leader.leading and not standby.leading and not taking.done()  # renewals keep it

        cut_off.cut = True
        cut = time.monotonic()
        await asyncio.wait_for(taking, 30)
        took = time.monotonic()
    finally:
        keeping.cancel()
        taking.cancel()
    assert lost and not leader.leading
    # The leader stopped within its renew deadline (plus one attempt), the standby started later,
    # after a full lease duration without renewals.
    assert lost[0] - cut <= TIMINGS.renew_deadline + TIMINGS.retry_period + 0.5
    assert took - lost[0] >= TIMINGS.lease_duration - TIMINGS.renew_deadline - TIMINGS.retry_period
    lease = lease_api.read_namespaced_lease("election", namespace)
    assert lease.spec.holder_identity == "b" and lease.spec.lease_transitions == 1


async def test_a_released_lease_is_taken_within_a_retry_period(lease_api, namespace) -> None:
    first = LeaderElector(namespace, "handover", identity="first", timings=TIMINGS, api=lease_api)
    second = LeaderElector(namespace, "handover", identity="second", timings=TIMINGS, api=lease_api)
    await first.acquire()
    taking = asyncio.create_task(second.acquire())
    await asyncio.sleep(1.0)
    assert not taking.done()
    released = time.monotonic()
    await first.release()
    await asyncio.wait_for(taking, 10)
    assert time.monotonic() - released <= TIMINGS.retry_period + 1.0
    assert second.leading and not first.leading
