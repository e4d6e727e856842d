"""The user docs say only what is true of the chart and the code.

Every chart value the docs name exists, every value is documented, every environment
variable is one the operator reads, and the names users type (annotation, finalizer,
metrics, exception types, printer columns) are the code's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from strategy_operator.api import FINALIZER, GROUP, WAKE_ANNOTATION
from strategy_operator.controller import config as operator_settings
from tests.chart.chart_helpers import CHART, REPO_ROOT

DOCS = [
    REPO_ROOT / "docs" / name
    for name in ("install.md", "configuration.md", "upstream-mapping.md", "troubleshooting.md")
]
VALUE_ROOTS = ("image", "operator", "alchemiscale", "rbac", "serviceAccount", "metrics")


def install_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    return readme[readme.index("<!-- section: install -->") : readme.index("<!-- /section: install -->")]


def user_text() -> str:
    return "\n".join(path.read_text() for path in DOCS) + install_section()


def values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def leaf_paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if (
            isinstance(value, dict)
            and value
            and key not in ("resources", "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe")
        ):
            paths |= leaf_paths(value, path + ".")
        else:
            paths.add(path)
    return paths


def lookup(tree: dict[str, Any], dotted: str) -> bool:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_value_the_docs_name_exists() -> None:
    chart_values = values()
    roots = "|".join(VALUE_ROOTS)
    text = user_text()
    # Values appear as `operator.maxWorkers` (optionally `=value`) or after --set/--set-json/--set-file.
    named = set(re.findall(rf"`((?:{roots})\.[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])(?:=[^`]*)?`", text))
    named |= set(re.findall(rf"--set(?:-json|-file)? '?((?:{roots})\.[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])=", text))
    assert len(named) > 20, named
    named.discard(GROUP)  # the API group, not a value
    missing = sorted(n for n in named if not lookup(chart_values, n))
    assert not missing, f"docs name values the chart does not have: {missing}"


def test_every_value_is_documented_in_the_configuration_reference() -> None:
    reference = (REPO_ROOT / "docs" / "configuration.md").read_text()
    undocumented = []
    for path in sorted(leaf_paths(values())):
        leaf = path.rsplit(".", 1)[-1]
        if (
            path not in reference
            and f"`.{leaf}`" not in reference
            and f", .{leaf}" not in reference
            and f"`{path.rsplit('.', 1)[0]}`" not in reference
        ):
            undocumented.append(path)
    assert not undocumented, f"values missing from docs/configuration.md: {undocumented}"


def test_environment_variables_in_the_docs_are_the_operators() -> None:
    known = {operator_settings.ENV_PREFIX + option.env for option in operator_settings._OPTIONS.values()}
    named = set(re.findall(r"STRATEGY_OPERATOR_[A-Z_]+[A-Z]", user_text()))
    assert named - known == set()
    deployment = (CHART / "templates" / "deployment.yaml").read_text()
    for variable in known:
        if variable not in deployment:
            suffix = variable.removeprefix(operator_settings.ENV_PREFIX)
            assert f'"{suffix}"' in deployment, f"{variable} cannot be set through the chart"


def test_names_users_type_are_the_codes_own() -> None:
    text = user_text()
    assert WAKE_ANNOTATION == "alchemiscale.org/wake" and WAKE_ANNOTATION in text
    assert FINALIZER == "alchemiscale.org/finalizer" and FINALIZER in text
    metrics = (REPO_ROOT / "operator" / "strategy_operator" / "controller" / "metrics.py").read_text()
    # strategy_operator_dev is the dev tooling's package, not a metric.
    for metric in set(re.findall(r"\bstrategy_operator_(?!dev\b)[a-z_]+", text)):
        base = metric.removesuffix("_total")
        assert f'"{base}"' in metrics, f"docs name metric {metric}, metrics.py has no {base}"


def test_exception_types_in_troubleshooting_exist() -> None:
    table = (REPO_ROOT / "docs" / "troubleshooting.md").read_text()
    names = set(
        re.findall(
            r"`([A-Z][A-Za-z]+(?:NotFound|Invalid|Forbidden|Credentials|Permitted|Allowed|"
            r"Configured|Error))`",
            table,
        )
    )
    assert len(names) >= 8
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "operator" / "strategy_operator").rglob("*.py"))
    for name in names:
        assert re.search(rf'class {name}\b|"{name}"', source), f"no {name} in the operator's code"


def test_printer_columns_the_docs_promise() -> None:
    crd = yaml.safe_load((CHART / "crds" / "networkstrategies.yaml").read_text())
    columns = {c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert {"Network", "Mode", "Status", "Iterations", "Last Iteration"} <= columns


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
