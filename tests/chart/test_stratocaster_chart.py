"""The chart's stratocaster values reach the operator: allowedStrategies and resultCacheEntries."""

from __future__ import annotations

import pytest

from strategy_operator.controller import config as operator_settings

from .chart_helpers import Render
from .test_chart_render import plain_env

pytestmark = pytest.mark.usefixtures("helm")


def _settings(render: Render, values: dict) -> operator_settings.OperatorConfig:
    env = plain_env(render(values))
    env["STRATEGY_OPERATOR_NAMESPACE"] = "ops"
    return operator_settings.from_arguments(None, env)


def test_stratocaster_allow_list_defaults_to_stratocaster_strategies(render: Render) -> None:
    parsed = _settings(render, {})
    assert parsed.allowed_strategies == ("stratocaster.strategies.*",)
    assert parsed.result_cache_entries == operator_settings.OperatorConfig().result_cache_entries


def test_stratocaster_values_reach_the_operator_settings(render: Render) -> None:
    values = {
        "operator": {
            "allowedStrategies": ["stratocaster.strategies.*", "mylab.strategies:UncertaintyStrategy"],
            "resultCacheEntries": 500,
        }
    }
    parsed = _settings(render, values)
    assert parsed.allowed_strategies == ("stratocaster.strategies.*", "mylab.strategies:UncertaintyStrategy")
    assert parsed.result_cache_entries == 500


def test_stratocaster_empty_allow_list_admits_only_the_builtins(render: Render) -> None:
    assert _settings(render, {"operator": {"allowedStrategies": []}}).allowed_strategies == ()


def test_stratocaster_bad_allow_list_entry_is_refused_by_the_schema(render_error) -> None:
    message = render_error({"operator": {"allowedStrategies": ["os.*.path"]}})
    assert "allowedStrategies" in message
