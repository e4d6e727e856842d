"""Shared by the e2e conftest and tests (a module of its own: `conftest` names are ambiguous)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "alchemiscale-strategy-operator"
# The operator's alchemiscale key: fresh per run, and it must never show up in kubectl output.
OPERATOR_KEY = "operator-key-" + uuid.uuid4().hex


def wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 1.0,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{diagnostics()}")
        time.sleep(interval)
