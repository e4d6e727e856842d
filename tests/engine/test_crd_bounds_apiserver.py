"""The CRD's maxima against a real kube-apiserver: the largest values are admitted, one more is refused."""

from __future__ import annotations

import pytest

from strategy_operator.engine.vocabulary import MAX_SLEEP_INTERVAL, MAX_TASKS_PER_TRANSFORMATION

NETWORK = "AlchemicalNetwork-0a1b2c-acme-tyk2-run1"


def manifest(name: str, **fields: int) -> str:
    extra = "".join(f", {key}: {value}" for key, value in fields.items())
    return (
        f"apiVersion: alchemiscale.org/v1alpha1\nkind: NetworkStrategy\nmetadata: {{name: {name}}}\n"
        f"spec: {{network: {NETWORK}, strategy: {{name: ConnectivityStrategy}}{extra}}}\n"
    )


def test_largest_values_are_admitted(crd_installed, kubectl):
    kubectl(
        "apply",
        "-f",
        "-",
        input=manifest(
            "largest", maxTasksPerTransformation=MAX_TASKS_PER_TRANSFORMATION, sleepInterval=MAX_SLEEP_INTERVAL
        ),
    )


@pytest.mark.parametrize(
    "field, value, bound",
    [
        ("maxTasksPerTransformation", MAX_TASKS_PER_TRANSFORMATION + 1, MAX_TASKS_PER_TRANSFORMATION),
        ("maxTasksPerTransformation", 2**63 - 1, MAX_TASKS_PER_TRANSFORMATION),
        ("sleepInterval", MAX_SLEEP_INTERVAL + 1, MAX_SLEEP_INTERVAL),
        ("sleepInterval", 2**63 - 1, MAX_SLEEP_INTERVAL),
    ],
)
def test_values_above_the_maxima_are_refused_naming_the_field(field, value, bound, crd_installed, kubectl):
    result = kubectl("apply", "-f", "-", input=manifest("too-large", **{field: value}), check=False)
    assert result.returncode != 0
    assert f"spec.{field}" in result.stderr and str(bound) in result.stderr, result.stderr
