"""Shared by the chart tests (imported by name: the tests folder is not a package)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strategy_operator_dev.repo import repo_root

REPO_ROOT = repo_root()
CHART = REPO_ROOT / "charts" / "alchemiscale-strategy-operator"

Render = Callable[..., list[dict[str, Any]]]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in matches]}"
    return matches[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)
