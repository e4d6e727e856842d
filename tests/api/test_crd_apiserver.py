"""The committed CRD against a real kube-apiserver: examples are accepted, CEL rules fire.

The full invalid-resource corpus lives with the control-plane tests; these cover the rules
this module's models introduce (settings per strategy, server credentials, immutability)
and that every status shape the model can produce survives the structural schema.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from strategy_operator.api.v1alpha1 import NetworkStrategyStatus
from strategy_operator_dev.repo import repo_root

EXAMPLES = sorted((repo_root() / "examples").glob("*.yaml"))
NETWORK = "AlchemicalNetwork-0a1b2c-acme-tyk2-run1"


def manifest(name: str, spec: str) -> str:
    return f"apiVersion: alchemiscale.org/v1alpha1\nkind: NetworkStrategy\nmetadata: {{name: {name}}}\nspec: {spec}\n"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_accepted(example, crd_installed, kubectl):
    kubectl("apply", "-f", str(example))


@pytest.mark.parametrize(
    "spec, field, words",
    [
        (
            "{network: %s, strategy: {name: ConnectivityStrategy, settings: {decay_rate: 0.4}}}",
            "spec.strategy.settings",
            "max_runs or cutoff",
        ),
        (
            "{network: %s, strategy: {name: ConnectivityStrategy, settings: {max_runs: 2, candidacy_max_distance: 2}}}",
            "spec.strategy.settings.candidacy_max_distance",
            "not a setting of ConnectivityStrategy",
        ),
        (
            "{network: %s, strategy: {name: RadialGrowthStrategy, settings: {cutoff: 2}}}",
            "spec.strategy.settings.cutoff",
            "not a setting of RadialGrowthStrategy",
        ),
        (
            "{network: %s, strategy: {name: RadialGrowthStrategy}, server: {url: 'https://x.example.org'}}",
            "spec.server.credentialsSecret",
            "required",
        ),
        (
            "{network: %s, strategy: {name: RadialGrowthStrategy, settings: {max_runs: true}}}",
            "spec.strategy.settings.max_runs",
            "integer",
        ),
        (
            "{network: %s, strategy: {name: RadialGrowthStrategy, settings: {unknown_key: 1}}}",
            "spec.strategy.settings.unknown_key",
            "unknown field",
        ),
    ],
)
def test_invalid_resources_are_rejected_naming_the_field(spec, field, words, crd_installed, kubectl):
    result = kubectl("apply", "-f", "-", input=manifest("bad", spec % NETWORK), check=False)
    assert result.returncode != 0
    assert field in result.stderr and words in result.stderr, result.stderr


def test_network_is_immutable(crd_installed, kubectl):
    kubectl(
        "apply", "-f", "-", input=manifest("fixed", "{network: %s, strategy: {name: ConnectivityStrategy}}" % NETWORK)
    )
    result = kubectl(
        "patch",
        "nstrat",
        "fixed",
        "--type=merge",
        "-p",
        '{"spec": {"network": "AlchemicalNetwork-ffff-acme-tyk2-run1"}}',
        check=False,
    )
    assert result.returncode != 0 and "network is immutable" in result.stderr


def test_every_status_field_survives_pruning(crd_installed, kubectl):
    kubectl(
        "apply", "-f", "-", input=manifest("status", "{network: %s, strategy: {name: ConnectivityStrategy}}" % NETWORK)
    )
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    status = NetworkStrategyStatus(
        status="error",
        iterations=4,
        last_iteration=when,
        last_iteration_result_count=7,
        exception={"type": "StrategyError", "message": "weights must not be negative"},
        traceback="Traceback (most recent call last):\n  ...\n",
        observed_generation=1,
        conditions=[
            {
                "type": "Ready",
                "status": "False",
                "reason": "StrategyFailed",
                "message": "m",
                "last_transition_time": when,
                "observed_generation": 1,
            }
        ],
        last_iteration_summary={
            "transformations_weighted": 3,
            "transformations_finished": 1,
            "transformations_blocked": 1,
            "tasks_actioned": 2,
            "tasks_created": 1,
            "tasks_cancelled": 0,
        },
        last_wake_token="1764072000",
        next_iteration=when,
        effective_sleep_interval=3600,
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    kubectl("patch", "nstrat", "status", "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    stored = json.loads(kubectl("get", "nstrat", "status", "-o", "json").stdout)["status"]
    assert stored == status
