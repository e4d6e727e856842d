"""The CRD admits stratocaster classes by import path, and still refuses what it can at admission.

A class named by import path takes its settings in `strategy.classSettings` (free-form: its own
settings model validates them at the first iteration); a name that is neither a built-in nor
an import path, and a settings field given to the wrong kind of strategy, are refused by the
kube-apiserver with a message naming the field.
"""

from __future__ import annotations

import json

import pytest

NETWORK = "AlchemicalNetwork-0a1b2c-acme-tyk2-run1"


def manifest(name: str, strategy: str) -> str:
    return (
        f"apiVersion: alchemiscale.org/v1alpha1\nkind: NetworkStrategy\nmetadata: {{name: {name}}}\n"
        f"spec: {{network: {NETWORK}, strategy: {strategy}}}\n"
    )


@pytest.mark.parametrize(
    "strategy",
    [
        "{name: stratocaster.strategies.ConnectivityStrategy}",
        "{name: stratocaster.strategies.RadialGrowthStrategy, classSettings: {max_runs: 5}}",
        "{name: 'mylab.strategies:UncertaintyStrategy', classSettings: {target_uncertainty: 0.2, nested: {a: [1, 2]}}}",
    ],
    ids=["stratocaster-default", "stratocaster-settings", "stratocaster-user-class"],
)
def test_stratocaster_import_paths_are_admitted_with_their_settings_kept(strategy, crd_installed, kubectl):
    kubectl("apply", "-f", "-", input=manifest("ok", strategy))
    stored = json.loads(kubectl("get", "nstrat", "ok", "-o", "json").stdout)["spec"]["strategy"]
    assert "classSettings" not in stored or stored["classSettings"], stored  # not pruned
    if "nested" in strategy:
        assert stored["classSettings"] == {"target_uncertainty": 0.2, "nested": {"a": [1, 2]}}
    kubectl("delete", "nstrat", "ok")


@pytest.mark.parametrize(
    "strategy, field, words",
    [
        ("{name: Connectivity}", "spec.strategy.name", "import path"),
        ("{name: 'stratocaster strategies'}", "spec.strategy.name", "import path"),
        ("{name: 'mylab:'}", "spec.strategy.name", "import path"),
        ("{name: ConnectivityStrategy, classSettings: {max_runs: 2}}", "spec.strategy.classSettings", "import path"),
        (
            "{name: stratocaster.strategies.ConnectivityStrategy, settings: {max_runs: 2}}",
            "spec.strategy.settings",
            "classSettings",
        ),
        (
            "{name: RadialGrowthStrategy, settings: {unknown_key: 1}}",
            "spec.strategy.settings.unknown_key",
            "unknown field",
        ),
    ],
    ids=[
        "stratocaster-bare-name",
        "stratocaster-space",
        "stratocaster-colon-only",
        "stratocaster-classsettings-on-builtin",
        "stratocaster-settings-on-import-path",
        "stratocaster-builtins-stay-strict",
    ],
)
def test_stratocaster_names_and_settings_refused_at_admission(strategy, field, words, crd_installed, kubectl):
    result = kubectl("apply", "-f", "-", input=manifest("bad", strategy), check=False)
    assert result.returncode != 0
    assert field in result.stderr and words in result.stderr, result.stderr
