"""The status as a typed model: read tolerantly, changed field by field, written whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strategy_operator.api.v1alpha1 import ExceptionInfo, NetworkStrategyStatus, NetworkTaskCounts, Status

T0 = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_change_holds_only_the_fields_it_sets_and_none_deletes():
    stored = NetworkStrategyStatus.read(
        {
            "status": "error",
            "iterations": 4,
            "exception": {"type": "InvalidCredentials", "message": "bad key"},
            "traceback": "Traceback ...",
            "kopf": {"progress": {}},
        }
    )
    change = NetworkStrategyStatus(status=Status.awake, exception=None, traceback=None)
    assert change.model_fields_set == {"status", "exception", "traceback"}
    after = stored.merged(change)
    assert after.document() == {"status": "awake", "iterations": 4, "kopf": {"progress": {}}}


def test_with_changes_validates_and_keeps_deletions():
    change = NetworkStrategyStatus(observed_generation=2).with_changes(exception=None, iterations=3)
    assert change.model_fields_set == {"observed_generation", "exception", "iterations"}
    with pytest.raises(ValueError, match="iterations"):
        change.with_changes(iterations=-1)


def test_times_are_whole_seconds_in_memory_as_in_storage():
    status = NetworkStrategyStatus(last_iteration=T0)
    assert status.last_iteration == T0.replace(microsecond=0)
    assert status.document() == {"lastIteration": "2026-11-25T12:00:00Z"}
    assert NetworkStrategyStatus.read(status.document()) == status


def test_nested_objects_are_written_whole_so_a_merge_patch_replaces_them():
    before = NetworkStrategyStatus(task_counts=NetworkTaskCounts(waiting=3, running=2))
    after = before.merged(NetworkStrategyStatus(task_counts=NetworkTaskCounts(complete=5)))
    assert after.document()["taskCounts"] == {
        "waiting": 0,
        "running": 0,
        "complete": 5,
        "error": 0,
        "invalid": 0,
        "deleted": 0,
    }


def test_read_drops_only_what_it_cannot_read():
    status = NetworkStrategyStatus.read(
        {
            "status": "sleeping",
            "iterations": 2,
            "nextIteration": "tomorrow",
            "exception": {"type": "X"},
            "conditions": [{"type": "Ready"}],
            "unknownField": 1,
        }
    )
    assert status.document() == {"iterations": 2}
    assert NetworkStrategyStatus.read(None) == NetworkStrategyStatus()
    assert NetworkStrategyStatus.read({"exception": {"type": "X", "message": "m"}}).exception == ExceptionInfo(
        type="X", message="m"
    )
