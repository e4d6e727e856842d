"""Shared by the chart tests: the repo's paths, the release, and running kubectl, helm and the Dockerfile's steps."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from strategy_operator_dev.controlplane import ControlPlane
from strategy_operator_dev.procs import Kubectl
from strategy_operator_dev.repo import repo_root

REPO_ROOT = repo_root()
CHART = REPO_ROOT / "charts" / "alchemiscale-strategy-operator"
# The release the tests install, and the ServiceAccount the chart names after it.
RELEASE = "aso"
SERVICE_ACCOUNT = "aso-alchemiscale-strategy-operator"

Render = Callable[..., list[dict[str, Any]]]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in matches]}"
    return matches[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def dockerfile_stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """Each stage's (INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword.upper(), rest.strip()))
    return result


def checked_context_copies(dockerfile: Path, ignore_file: Path) -> set[str]:
    """The paths the build stage COPYs from the build context, asserted to be exactly those the ignore file
    admits; the ignore file must start from nothing (`*`)."""
    rules = [line for line in ignore_file.read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*", "start from nothing: secrets, .venv and .git never reach the build context"
    admitted = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = set()
    for keyword, rest in dockerfile_stages(dockerfile)[0]:
        if keyword == "COPY" and not rest.startswith("--from"):
            copied.update(p.rstrip("/") for p in shlex.split(rest)[:-1])
    assert copied == admitted
    return copied


def run_checked(*argv: str | Path, env: Mapping[str, str], timeout: float, cwd: Path = REPO_ROOT) -> str:
    """The command's output; fails the test with the ends of its output when it exits non-zero."""
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, argv))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def copy_build_context(context: Path) -> None:
    """Into `context`, what the images' ignore files admit for the operator's wheel: its metadata, lock and sources."""
    context.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.lock"):
        shutil.copy2(REPO_ROOT / name, context / name)
    shutil.copytree(
        REPO_ROOT / "operator",
        context / "operator",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )


def kubectl_any(
    plane: ControlPlane, *args: str, check: bool = True, input: str | None = None, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl on the control plane in no namespace of its own, as the plane's admin unless `kubeconfig` says
    otherwise; with `check`, a failure fails the test."""
    return Kubectl(kubeconfig or plane.kubeconfig, error=AssertionError)(*args, input=input, check=check)


def helm_run(helm: str, plane: ControlPlane, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """helm on the control plane; it must succeed."""
    result = subprocess.run(
        [helm, "--kubeconfig", str(plane.kubeconfig), *args], capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}{result.stdout}"
    return result


def helm_values_args(values: dict[str, Any] | None) -> list[str]:
    """Each top-level value as one --set-json, so types survive exactly as written."""
    args: list[str] = []
    for key, value in (values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args
