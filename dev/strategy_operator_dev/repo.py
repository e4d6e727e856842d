"""Finding the checkout the dev tooling works on (examples, CRDs, charts, hack scripts).

In order: `$STRATEGY_OPERATOR_REPO`; the nearest directory at or above the current one
that holds the marker files; the nearest one at or above this module (an editable
install lives in the checkout). The markers are `dev/pyproject.toml` and `crds/`, which
only a checkout of this project has.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ENV = "STRATEGY_OPERATOR_REPO"


class RepoNotFound(RuntimeError):
    """No checkout of this project could be found."""


def is_checkout(directory: Path) -> bool:
    return (directory / "dev" / "pyproject.toml").is_file() and (directory / "crds").is_dir()


def find_repo_root(start: Path | None = None) -> Path | None:
    """The checkout, or None when there is none (e.g. an installed, non-editable copy)."""
    explicit = os.environ.get(REPO_ENV)
    if explicit:
        return Path(explicit).resolve()
    for origin in (start or Path.cwd(), Path(__file__)):
        origin = origin.resolve()
        for directory in (origin, *origin.parents):
            if is_checkout(directory):
                return directory
    return None


def repo_root(start: Path | None = None) -> Path:
    """The checkout; RepoNotFound says how to name it when it cannot be found."""
    root = find_repo_root(start)
    if root is None:
        raise RepoNotFound(
            f"cannot find the alchemiscale-strategy-operator checkout; run from inside it or set {REPO_ENV}"
        )
    return root
