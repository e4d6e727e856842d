"""The Grafana dashboard ConfigMap: off by default, the sidecar's label, the chart's JSON verbatim."""

from __future__ import annotations

import json
import subprocess

import pytest

from .chart_helpers import CHART, Render, one

pytestmark = pytest.mark.usefixtures("helm")

DASHBOARD = CHART / "dashboards" / "strategy-operator.json"


def dashboard_maps(objects) -> list[dict]:
    return [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard")]


def test_no_dashboard_by_default(render: Render) -> None:
    assert dashboard_maps(render()) == []


def test_the_dashboard_configmap_carries_the_sidecar_label_and_the_json(render: Render) -> None:
    objects = render({"metrics": {"grafanaDashboard": {"enabled": True}}}, namespace="ops", release="aso")
    config_map = one(dashboard_maps(objects), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "ops"
    assert config_map["metadata"]["labels"]["app.kubernetes.io/instance"] == "aso"
    assert list(config_map["data"]) == ["alchemiscale-strategy-operator.json"]
    assert json.loads(config_map["data"]["alchemiscale-strategy-operator.json"]) == json.loads(DASHBOARD.read_text())


def test_namespace_labels_and_annotations_pass_through(render: Render) -> None:
    values = {
        "enabled": True,
        "namespace": "monitoring",
        "labels": {"team": "fe"},
        "annotations": {"grafana_folder": "alchemiscale"},
    }
    config_map = one(dashboard_maps(render({"metrics": {"grafanaDashboard": values}})), "ConfigMap")
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["labels"]["team"] == "fe"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "alchemiscale"}


def test_helm_lint_strict_with_the_dashboard(helm: str, helm_env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            helm,
            "lint",
            "--strict",
            str(CHART),
            "--set-json",
            'metrics={"grafanaDashboard": {"enabled": true, "namespace": "monitoring"}}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=helm_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("bad", [{"enabled": "yes"}, {"namespace": "Not_A_Namespace"}, {"colour": "blue"}])
def test_bad_dashboard_values_are_refused_by_the_schema(helm: str, helm_env: dict[str, str], bad: dict) -> None:
    result = subprocess.run(
        [helm, "template", "aso", str(CHART), "--set-json", f"metrics={json.dumps({'grafanaDashboard': bad})}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=helm_env,
    )
    assert result.returncode != 0 and "grafanaDashboard" in result.stderr


def test_the_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {
        "Strategies by status",
        "Iterations by result",
        "Iteration duration",
        "Tasks changed",
        "alchemiscale requests",
        "alchemiscale errors by type",
    } <= titles
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(target["expr"] for target in panel["targets"])
    cells = set()
    for panel in dashboard["panels"]:  # no two panels on the same grid cell
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panel {panel['title']} overlaps another at {(x, y)}"
                cells.add((x, y))
        assert grid["x"] + grid["w"] <= 24
