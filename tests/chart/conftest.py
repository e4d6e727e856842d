"""Helpers for the chart tests: the helm binary and rendering the chart into objects."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from strategy_operator_dev.controlplane import find_binaries

from .chart_helpers import CHART, Render, helm_values_args


@pytest.fixture(scope="session")
def helm() -> str:
    """The helm v4 binary built with the control plane (`make controlplane`)."""
    # Builds what is missing (a stamp check when current): a chart test that cannot run fails.
    binaries = find_binaries()
    assert binaries.helm is not None, "the control plane build installs helm; rerun `make controlplane`"
    return str(binaries.helm)


@pytest.fixture(scope="session")
def helm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment keeping helm's cache, config and data out of the user's home."""
    home = tmp_path_factory.mktemp("helm-home")
    return {**os.environ, **{f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}}


@pytest.fixture(scope="session")
def render(helm: str, helm_env: dict[str, str]) -> Render:
    """`render(values, namespace="ops", release="aso")` -> the chart's objects, parsed."""

    def _render(
        values: dict[str, Any] | None = None, *, namespace: str = "ops", release: str = "aso"
    ) -> list[dict[str, Any]]:
        result = subprocess.run(
            [helm, "template", release, str(CHART), "--namespace", namespace, *helm_values_args(values)],
            capture_output=True,
            text=True,
            timeout=60,
            env=helm_env,
        )
        if result.returncode != 0:
            raise AssertionError(f"helm template failed:\n{result.stderr}")
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render


@pytest.fixture(scope="session")
def render_error(helm: str, helm_env: dict[str, str]) -> Callable[[dict[str, Any]], str]:
    """`render_error(values)` -> helm's error text; fails the test if rendering succeeds."""

    def _render_error(values: dict[str, Any]) -> str:
        result = subprocess.run(
            [helm, "template", "aso", str(CHART), *helm_values_args(values)],
            capture_output=True,
            text=True,
            timeout=60,
            env=helm_env,
        )
        assert result.returncode != 0, f"helm accepted {values!r}"
        return result.stderr

    return _render_error
