"""The resource model: defaults, bounds, strategy settings and status shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus
from strategy_operator.engine.strategies.connectivity import ConnectivitySettings
from strategy_operator.engine.strategies.radialgrowth import RadialGrowthSettings
from strategy_operator.text import TRACEBACK_MAX_LENGTH
from strategy_operator.validation import describe

NETWORK = "AlchemicalNetwork-0a1b2c-acme-tyk2-run1"


def spec(**overrides):
    doc = {"network": NETWORK, "strategy": {"name": "ConnectivityStrategy"}}
    doc.update(overrides)
    return NetworkStrategySpec.model_validate(doc)


def test_defaults():
    s = spec()
    assert (s.mode.value, s.task_scaling.value, s.max_tasks_per_transformation, s.sleep_interval) == (
        "partial",
        "exponential",
        3,
        3600,
    )
    assert s.server is None and s.cancel_tasks_on_delete is False
    assert s.strategy.resolved_settings() == ConnectivitySettings(max_runs=3, decay_rate=0.5)


def test_radialgrowth_default_settings():
    s = spec(strategy={"name": "RadialGrowthStrategy"})
    assert s.strategy.resolved_settings() == RadialGrowthSettings(
        max_runs=3, candidacy_max_distance=1, decay_repeat_rate=0.5, decay_distance_rate=0.5
    )


def test_given_settings_take_field_defaults_so_connectivity_needs_a_stop_rule():
    with pytest.raises(ValidationError) as caught:
        spec(strategy={"name": "ConnectivityStrategy", "settings": {"decay_rate": 0.4}})
    assert "max_runs or cutoff" in describe(caught.value)
    got = spec(strategy={"name": "ConnectivityStrategy", "settings": {"cutoff": 1}}).strategy.resolved_settings()
    assert got.max_runs is None and got.cutoff == 1.0 and got.decay_rate == 0.5


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"max_runs": True}, "settings.max_runs"),
        ({"max_runs": "3"}, "settings.max_runs"),
        ({"max_runs": 2.5}, "settings.max_runs"),
        ({"max_runs": 0}, "settings.max_runs"),
        ({"max_runs": 3, "cutoff": 0}, "settings.cutoff"),
        ({"max_runs": 3, "cutoff": "0.5"}, "settings.cutoff"),
        ({"max_runs": 3, "decay_rate": 1}, "settings.decay_rate"),
        ({"max_runs": 3, "decay_rate": 0}, "settings.decay_rate"),
        ({"max_runs": 3, "decay_rate": False}, "settings.decay_rate"),
        ({"max_runs": 3, "decay_rate": float("nan")}, "settings.decay_rate"),
        ({"max_runs": 3, "candidacy_max_distance": 1}, "settings.candidacy_max_distance"),
    ],
)
def test_connectivity_settings_rejected_naming_the_field(settings, field):
    with pytest.raises(ValidationError) as caught:
        spec(strategy={"name": "ConnectivityStrategy", "settings": settings})
    assert field in describe(caught.value)


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"max_runs": None}, "settings.max_runs"),
        ({"candidacy_max_distance": 0}, "settings.candidacy_max_distance"),
        ({"decay_repeat_rate": 1.0}, "settings.decay_repeat_rate"),
        ({"decay_distance_rate": -0.1}, "settings.decay_distance_rate"),
        ({"cutoff": 1}, "settings.cutoff"),
        ({"decay_rate": 0.5}, "settings.decay_rate"),
    ],
)
def test_radialgrowth_settings_rejected_naming_the_field(settings, field):
    with pytest.raises(ValidationError) as caught:
        spec(strategy={"name": "RadialGrowthStrategy", "settings": settings})
    assert field in describe(caught.value)


def test_whole_floats_are_integers():
    assert RadialGrowthSettings.model_validate({"max_runs": 2.0}).max_runs == 2


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"network": "Transformation-abc-acme-tyk2-run1"}, "network"),
        ({"network": "AlchemicalNetwork-abc-acme-tyk2"}, "network"),
        ({"mode": "fast"}, "mode"),
        ({"taskScaling": "quadratic"}, "taskScaling"),
        ({"maxTasksPerTransformation": 0}, "maxTasksPerTransformation"),
        ({"maxTasksPerTransformation": True}, "maxTasksPerTransformation"),
        ({"sleepInterval": 0}, "sleepInterval"),
        ({"server": {"url": "https://x.example.org"}}, "credentialsSecret"),
        ({"server": {"url": "ftp://x", "credentialsSecret": "s"}}, "server.url"),
        ({"server": {"credentialsSecret": "Not_A_Name"}}, "server.credentialsSecret"),
        ({"unknown": 1}, "unknown"),
        ({"strategy": {"name": "GreedyStrategy"}}, "strategy.name"),
    ],
)
def test_spec_rejections_name_the_field(overrides, field):
    with pytest.raises(ValidationError) as caught:
        spec(**overrides)
    assert field in describe(caught.value)


def test_server_with_only_credentials_uses_the_default_url():
    s = spec(server={"credentialsSecret": "alchemiscale-alice"})
    assert s.server.url is None and s.server.credentials_secret == "alchemiscale-alice"


def test_status_round_trip_in_camel_case_and_rfc3339():
    when = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    status = NetworkStrategyStatus(
        status="awake",
        iterations=2,
        last_iteration=when,
        next_iteration=when + timedelta(hours=1),
        last_iteration_summary={"tasks_created": 2},
        exception={"type": "StrategyError", "message": "x" * 5000},
        traceback="line\n" * 5000,
    )
    doc = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert doc["lastIteration"] == "2026-11-25T12:00:00Z"
    assert doc["nextIteration"] == "2026-11-25T13:00:00Z"
    assert doc["lastIterationSummary"]["tasksCreated"] == 2
    assert len(doc["exception"]["message"]) <= 2048
    assert len(doc["traceback"]) <= TRACEBACK_MAX_LENGTH and doc["traceback"].endswith("line\n")
    assert NetworkStrategyStatus.model_validate(doc).iterations == 2


def test_status_rejects_naive_datetimes():
    with pytest.raises(ValidationError) as caught:
        NetworkStrategyStatus(last_iteration=datetime(2026, 11, 25, 12, 0))
    assert "last_iteration" in describe(caught.value) or "lastIteration" in describe(caught.value)
