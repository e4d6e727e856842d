"""The container image: what can be checked without a Docker engine.

The Dockerfile is parsed for its promises (multi-stage, non-root numeric user, entrypoint,
nothing installed in the final stage), the lock is checked against pyproject, and the slow
test replays the build stage's exact pip steps into a fresh venv and runs the entrypoint.
The real build of the unmodified Dockerfile (buildah, hack/build-images.sh) and the image
running as the chart's Pod under a kubelet are `make test-e2e` (tests/e2e/).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .chart_helpers import REPO_ROOT, checked_context_copies, copy_build_context, dockerfile_stages, run_checked

DOCKERFILE = REPO_ROOT / "Dockerfile"
LOCK = REPO_ROOT / "requirements.lock"


def build_stage_runs() -> list[str]:
    return [rest for keyword, rest in dockerfile_stages(DOCKERFILE)[0] if keyword == "RUN"]


def locked() -> dict[str, str]:
    pins = {}
    for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", LOCK.read_text(), re.MULTILINE):
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_dockerfile_is_multi_stage_from_slim_python_311() -> None:
    all_stages = dockerfile_stages(DOCKERFILE)
    assert len(all_stages) >= 2
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base.group(1)), base
    assert [rest.split()[0] for _, rest in (s[0] for s in all_stages)] == ["${PYTHON_IMAGE}"] * len(all_stages)


def test_final_stage_runs_the_operator_as_a_non_root_user() -> None:
    final = dockerfile_stages(DOCKERFILE)[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage must switch to a non-root user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric, non-zero UID lets the kubelet verify runAsNonRoot"
    values = yaml.safe_load((REPO_ROOT / "charts/alchemiscale-strategy-operator/values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert ("ENTRYPOINT", '["strategy-operator"]') in final
    assert ("CMD", '["run"]') in final


def test_final_stage_installs_nothing_and_copies_only_the_venv() -> None:
    final = dockerfile_stages(DOCKERFILE)[-1]
    for keyword, rest in final:
        if keyword == "RUN":
            assert not re.search(r"\b(pip|apt-get|apt|gcc|make|curl|wget)\b", rest), rest
        if keyword in ("COPY", "ADD"):
            assert keyword == "COPY" and rest.startswith("--from=build "), rest


def test_build_stage_installs_only_hash_pinned_wheels() -> None:
    runs = " ".join(build_stage_runs())
    assert "--require-hashes" in runs and "-r requirements.lock" in runs
    assert "--only-binary=:all:" in runs
    assert "--no-cache-dir" in runs or "PIP_NO_CACHE_DIR=1" in DOCKERFILE.read_text()


def test_dockerignore_admits_exactly_what_the_dockerfile_copies() -> None:
    copied = checked_context_copies(DOCKERFILE, REPO_ROOT / ".dockerignore")
    for path in copied:
        assert (REPO_ROOT / path).exists(), path


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = locked()
    for text in pyproject["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{requirement.name} is in pyproject but not in requirements.lock; run hack/update-requirements-lock.sh"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}"
        )
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", LOCK.read_text().split("\n", 1)[1])
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, block.split("\n", 1)[0]
    for extra in ("fastapi", "uvicorn", "pytest"):
        assert extra not in pins, f"{extra} is a test/sandbox extra and must stay out of the image"


@pytest.mark.e2e
def test_build_steps_install_a_working_operator(tmp_path: Path) -> None:
    """Replays the build stage's pip steps (the same flags) and runs the installed entrypoint."""
    venv = tmp_path / "opt"
    host_pip = [sys.executable, "-m", "pip"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    run = functools.partial(run_checked, env=env, timeout=900)

    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(*host_pip, "--python", python, "install", "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", LOCK)
    # The build context: only what .dockerignore admits, so the wheel builds from exactly that.
    context = tmp_path / "context"
    copy_build_context(context)
    run(*host_pip, "wheel", "--no-deps", "--wheel-dir", tmp_path / "wheels", ".", cwd=context)
    wheels = list((tmp_path / "wheels").glob("*.whl"))
    assert len(wheels) == 1
    run(*host_pip, "--python", python, "install", "--no-deps", "--no-index", wheels[0])
    run(*host_pip, "--python", python, "check")
    assert not (venv / "bin" / "pip").exists(), "the image's venv carries no installer"

    entrypoint = venv / "bin" / "strategy-operator"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    top_help = run(entrypoint, "--help", cwd=outside)
    assert "run" in top_help
    # Only what the image can run: the dev tooling's commands are strategy-operator-dev's.
    assert "sandbox" not in top_help and "controlplane" not in top_help, top_help
    wheel_files = zipfile.ZipFile(wheels[0]).namelist()
    assert not [
        name for name in wheel_files if not name.startswith(("strategy_operator/", "alchemiscale_strategy_operator-"))
    ], wheel_files
    assert "--min-sleep-interval" in run(entrypoint, "run", "--help", cwd=outside)
    # `run --help` stops before the handlers are imported: import everything `run` needs, in the
    # image's environment, which has no sandbox or test extras.
    run(
        python,
        "-c",
        "import strategy_operator.controller.register, strategy_operator.controller.reconcile, "
        "strategy_operator.controller.main; import importlib.util as u; assert u.find_spec('fastapi') is None; assert u.find_spec('strategy_operator_dev') is None",
        cwd=outside,
    )
    # `simulate` runs in the image's environment too; its plot needs the optional extra.
    network = outside / "network.yaml"
    network.write_text("systems: [a, b, c]\ntransformations: [{stateA: a, stateB: b}, {stateA: b, stateB: c}]\n")
    simulated = json.loads(run(entrypoint, "simulate", network, "--scope", "acme-tyk2-run1", "--json", cwd=outside))
    assert simulated["choices"][0]["outcome"] == "dormant"
    no_plot = subprocess.run(
        [str(entrypoint), "simulate", str(network), "--scope", "acme-tyk2-run1", "--plot", str(outside / "x.png")],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_plot.returncode == 2 and "pip install 'alchemiscale-strategy-operator[plot]'" in no_plot.stderr
    run(python, "-c", "import strategy_operator.python_api", cwd=outside)
    crd = yaml.safe_load(run(entrypoint, "crd", cwd=outside))
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "networkstrategies.alchemiscale.org"
