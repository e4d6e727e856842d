from datetime import UTC, datetime, timedelta

import pytest

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator.controller.scheduling import (
    MAX_BACKOFF,
    due_at,
    effective_interval,
    format_time,
    is_due,
    is_woken,
    parse_time,
    transient_backoff,
)

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def stored(document: dict) -> NetworkStrategyStatus:
    """A status as the operator reads it from the resource."""
    return NetworkStrategyStatus.read(document)


def test_time_round_trip_is_rfc3339_utc():
    assert format_time(T0) == "2026-11-25T12:00:00Z"
    assert parse_time("2026-11-25T12:00:00Z") == T0
    assert parse_time("2026-11-25T13:00:00+01:00") == T0
    assert parse_time(None) is None and parse_time("garbage") is None
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))


def test_effective_interval_is_raised_to_the_minimum():
    assert effective_interval(3600, 300) == 3600
    assert effective_interval(10, 300) == 300


def test_never_run_is_due_at_once():
    assert due_at(stored({}), 300) is None
    assert is_due(stored({}), 300, T0)


def test_due_is_measured_from_last_iteration():
    status = stored({"lastIteration": format_time(T0)})
    assert due_at(status, 300) == T0 + timedelta(seconds=300)
    assert not is_due(status, 300, T0 + timedelta(seconds=299))
    assert is_due(status, 300, T0 + timedelta(seconds=300))


def test_planned_next_iteration_wins_while_the_interval_is_unchanged():
    status = stored(
        {
            "lastIteration": format_time(T0),
            "nextIteration": format_time(T0 + timedelta(seconds=900)),
            "effectiveSleepInterval": 300,
        }
    )
    assert due_at(status, 300) == T0 + timedelta(seconds=900)
    # A changed interval takes effect at once, measured from the last iteration.
    assert due_at(status, 60) == T0 + timedelta(seconds=60)


def test_planned_retry_without_any_iteration():
    status = stored({"nextIteration": format_time(T0), "effectiveSleepInterval": 300})
    assert due_at(status, 300) == T0
    assert due_at(status, 60) == T0


def test_an_unreadable_field_counts_as_absent():
    status = stored({"nextIteration": "garbage", "effectiveSleepInterval": 300, "lastIteration": format_time(T0)})
    assert status.next_iteration is None and status.effective_sleep_interval == 300
    assert due_at(status, 300) == T0 + timedelta(seconds=300)
    assert due_at(stored({"lastIteration": "2026-11-25T12:00:00", "status": "sleeping"}), 300) is None


def test_wake_token():
    assert not is_woken(None, stored({}))
    assert not is_woken({"alchemiscale.org/wake": ""}, stored({}))
    assert is_woken({"alchemiscale.org/wake": "1"}, stored({}))
    assert not is_woken({"alchemiscale.org/wake": "1"}, stored({"lastWakeToken": "1"}))
    assert is_woken({"alchemiscale.org/wake": "2"}, stored({"lastWakeToken": "1"}))


def test_transient_backoff_grows_and_is_capped():
    delays = [transient_backoff(n, 3600, 5) for n in range(1, 12)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == MAX_BACKOFF
    assert transient_backoff(10, 60, 5) == 60
    assert transient_backoff(1, 1, 5) == 5
