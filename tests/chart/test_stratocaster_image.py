"""The image with the stratocaster extra (Dockerfile.stratocaster), checked as test_image.py checks the default one.

Its promises are parsed (multi-stage on Python 3.12, non-root numeric user, nothing installed
in the final stage, an ignore file admitting exactly what it copies), and the slow test
replays the build stage's pip steps into a fresh venv with gufe's and stratocaster's wheels
and a user's strategy package (tests/stratocaster/userpkg, built into a wheel) in
strategy-wheels/, then loads that package's Strategy the way the operator does.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from .chart_helpers import REPO_ROOT, checked_context_copies, copy_build_context, dockerfile_stages, run_checked

DOCKERFILE = REPO_ROOT / "Dockerfile.stratocaster"
IGNORE = REPO_ROOT / "Dockerfile.stratocaster.dockerignore"
USER_PACKAGE = REPO_ROOT / "tests" / "stratocaster" / "userpkg"


def test_stratocaster_image_is_multi_stage_on_python_312_and_runs_as_non_root() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?", base.group(1)), base
    build, final = dockerfile_stages(DOCKERFILE)[0], dockerfile_stages(DOCKERFILE)[-1]
    assert (
        len(dockerfile_stages(DOCKERFILE)) == 2
        and [s[0][1].split()[0] for s in (build, final)] == ["${PYTHON_IMAGE}"] * 2
    )
    assert ("USER", "10001:10001") in final
    assert ("ENTRYPOINT", '["strategy-operator"]') in final and ("CMD", '["run"]') in final
    for keyword, rest in final:
        assert keyword != "RUN", rest
        if keyword in ("COPY", "ADD"):
            assert keyword == "COPY" and rest.startswith("--from=build "), rest
    runs = " ".join(rest for keyword, rest in build if keyword == "RUN")
    assert "--require-hashes" in runs and "-r requirements.lock" in runs and "--only-binary=:all:" in runs
    assert "[stratocaster]" in runs and "--find-links strategy-wheels" in runs


def test_stratocaster_image_ignore_file_admits_exactly_what_it_copies() -> None:
    checked_context_copies(DOCKERFILE, IGNORE)


@pytest.mark.e2e
def test_stratocaster_image_build_steps_install_the_extra_and_a_user_strategy(tmp_path: Path) -> None:
    wheels = os.environ.get("WHEELS")
    assert wheels, "set WHEELS to the directory holding the gufe and stratocaster wheels (make exports it)"
    wheels_dir = Path(wheels)
    if not wheels_dir.is_absolute():
        wheels_dir = REPO_ROOT / wheels_dir
    assert list(wheels_dir.glob("gufe-*.whl")) and list(wheels_dir.glob("stratocaster-*.whl")), wheels_dir
    assert sys.version_info[:2] >= (3, 12), "the stratocaster extra needs Python 3.12, as the image uses"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    host_pip = [sys.executable, "-m", "pip"]

    run = functools.partial(run_checked, env=env, timeout=1500)

    # The build context: what the ignore file admits, with strategy-wheels/ filled as a user would.
    context = tmp_path / "context"
    copy_build_context(context)
    strategy_wheels = context / "strategy-wheels"
    strategy_wheels.mkdir()
    for wheel in wheels_dir.glob("*.whl"):
        shutil.copy2(wheel, strategy_wheels)
    package = tmp_path / "userpkg"
    shutil.copytree(USER_PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build"))
    run(*host_pip, "wheel", "--no-deps", "--wheel-dir", strategy_wheels, ".", cwd=package)

    venv = tmp_path / "opt"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(
        *host_pip,
        "--python",
        python,
        "install",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "-r",
        context / "requirements.lock",
    )
    run(*host_pip, "wheel", "--no-deps", "--wheel-dir", tmp_path / "wheels", ".", cwd=context)
    (operator_wheel,) = (tmp_path / "wheels").glob("*.whl")
    run(
        *host_pip,
        "--python",
        python,
        "install",
        "--only-binary=:all:",
        "--find-links",
        "strategy-wheels",
        f"{operator_wheel}[stratocaster]",
        "mylab-strategies",
        cwd=context,
    )
    run(*host_pip, "--python", python, "check")
    assert not (venv / "bin" / "pip").exists(), "the image's venv carries no installer"

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert "--allowed-strategies" in run(venv / "bin" / "strategy-operator", "run", "--help", cwd=outside)
    loaded = run(
        python,
        "-c",
        "from strategy_operator.stratocaster.loading import AllowedStrategies, build_strategy\n"
        "s = build_strategy('mylab.strategies:UncertaintyStrategy', {'target_uncertainty': 0.3},"
        " AllowedStrategies(('mylab.strategies.*',)))\n"
        "c = build_strategy('stratocaster.strategies.ConnectivityStrategy', None, AllowedStrategies())\n"
        "print(type(s).__name__, s.settings.target_uncertainty, type(c).__name__)\n"
        "import strategy_operator.controller.register",
        cwd=outside,
    )
    assert loaded.split() == ["UncertaintyStrategy", "0.3", "ConnectivityStrategy"]
