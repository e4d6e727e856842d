"""Builds (or reuses) what the real alchemiscale 0.8.0 stack runs, outside the clone.

Two slow builds, each keyed by what it is built from and behind a stamp, so a fresh clone
on the same machine reuses them and a warm call returns at once:

- the server's Python 3.12 venv: `<cache>/alchemiscale-0.8.0-<hash of server-requirements.txt>/`,
  from PyPI (the pinned requirements, alchemiscale 0.8.0 among them) plus the wheels of
  gufe, stratocaster and openff that no reachable registry serves (`<repo>/../shared/wheels`,
  or `$STRATEGY_OPERATOR_WHEELS`);
- the Neo4j 5.25.1 runner (`hack/neo4j-runner`, neo4j-harness), built with Maven:
  `<cache>/neo4j-runner-5.25.1-<hash of its sources>/` holds the jar and its classpath
  (the dependency jars stay in Maven's own ~/.m2).

`<cache>` is `$STRATEGY_OPERATOR_CACHE`, else `$XDG_CACHE_HOME/strategy-operator`, else
`~/.cache/strategy-operator`, as for the control plane. Both builds run at once; two
processes building the same thing take turns through a lock file.

    python -m strategy_operator_dev.realserver build
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ALCHEMISCALE_VERSION = "0.8.0"
NEO4J_VERSION = "5.25.1"
PYTHON_SERIES = "3.12"
# Wheels that no reachable registry serves in a usable version: requirement -> wheel file.
SHARED_WHEELS = {
    "gufe==1.10.0": "gufe-1.10.0-py3-none-any.whl",
    "stratocaster==0.2.0": "stratocaster-0.2.0-py3-none-any.whl",
    "openff-units==0.3.2": "openff_units-0.3.2-py3-none-any.whl",
    "openff-utilities==0.1.17": "openff_utilities-0.1.17-py3-none-any.whl",
}

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
REQUIREMENTS = HERE / "server-requirements.txt"
RUNNER_SOURCE = REPO_ROOT / "hack" / "neo4j-runner"
RUNNER_MAIN_CLASS = "strategyoperator.neo4jrunner.Neo4jRunner"

PIP_TIMEOUT = 45 * 60
MAVEN_TIMEOUT = 30 * 60


class BuildError(RuntimeError):
    """A build of the real-server stack failed, or something it needs is missing."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def cache_root() -> Path:
    explicit = os.environ.get("STRATEGY_OPERATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "strategy-operator"


def wheels_dir() -> Path:
    explicit = os.environ.get("STRATEGY_OPERATOR_WHEELS")
    return Path(explicit) if explicit else REPO_ROOT.parent / "shared" / "wheels"


def _short_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def requirements_hash() -> str:
    # Plain sha256 of the file, so `sha256sum server-requirements.txt | cut -c1-12` names the venv.
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]


def runner_sources() -> list[Path]:
    return sorted(
        p for p in RUNNER_SOURCE.rglob("*") if p.is_file() and "target" not in p.relative_to(RUNNER_SOURCE).parts
    )


def runner_hash() -> str:
    parts: list[bytes] = []
    for path in runner_sources():
        parts += [str(path.relative_to(RUNNER_SOURCE)).encode(), path.read_bytes()]
    return _short_hash(*parts)


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f">> another build of {name} is running; waiting for it", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run_logged(
    argv: list[str], log: Path, timeout: float, what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            result = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(f"{what} took longer than {timeout:.0f} s; log: {log}") from None
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {result.returncode}); last lines of {log}:\n{tail}")


# ------------------------------------------------------------------ the server's venv


def find_python312() -> Path:
    """A working Python 3.12 interpreter: `$STRATEGY_OPERATOR_PYTHON312`, `python3.12`, or pyenv's."""
    candidates: list[str] = []
    if os.environ.get("STRATEGY_OPERATOR_PYTHON312"):
        candidates.append(os.environ["STRATEGY_OPERATOR_PYTHON312"])
    if shutil.which("python3.12"):
        candidates.append(shutil.which("python3.12") or "")
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{PYTHON_SERIES}.*/bin/python{PYTHON_SERIES}"), reverse=True)
    candidates += [f"/usr/bin/python{PYTHON_SERIES}", f"/usr/local/bin/python{PYTHON_SERIES}"]
    for candidate in candidates:
        # A pyenv shim exists even where the version is not selected; it fails to run.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if out.returncode == 0 and out.stdout.strip() == PYTHON_SERIES:
                return Path(candidate)
    raise BuildError(
        f"the real alchemiscale server needs Python {PYTHON_SERIES} (its pinned numpy/rdkit/openmm wheels); "
        f"none found among {candidates}: install it or set STRATEGY_OPERATOR_PYTHON312"
    )


@dataclass(frozen=True)
class ServerVenv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name


def server_venv_dir() -> Path:
    return cache_root() / f"alchemiscale-{ALCHEMISCALE_VERSION}-{requirements_hash()}"


def _venv_wanted() -> str:
    return f"alchemiscale={ALCHEMISCALE_VERSION} requirements={requirements_hash()} wheels={','.join(sorted(SHARED_WHEELS))}\n"


def _missing_wheels() -> list[str]:
    directory = wheels_dir()
    return [name for name in SHARED_WHEELS.values() if not (directory / name).is_file()]


def check_wheels() -> None:
    missing = _missing_wheels()
    if missing:
        raise BuildError(
            f"wheels missing from {wheels_dir()}: {', '.join(missing)} (gufe, stratocaster and openff are not "
            "served by PyPI; point STRATEGY_OPERATOR_WHEELS at a directory holding them)"
        )


def build_server_venv() -> ServerVenv:
    venv = ServerVenv(server_venv_dir())
    stamp = venv.path / ".stamp"
    # In CI a missing wheel always fails, even when a cached venv would hide it.
    if in_ci():
        check_wheels()
    if stamp.is_file() and stamp.read_text() == _venv_wanted() and venv.python.exists():
        return venv
    with _locked(venv.path.name):
        if stamp.is_file() and stamp.read_text() == _venv_wanted() and venv.python.exists():
            return venv
        check_wheels()
        started = time.monotonic()
        venv.path.mkdir(parents=True, exist_ok=True)
        log = venv.path / "build.log"
        if not venv.python.exists():
            _run_logged([str(find_python312()), "-m", "venv", str(venv.path)], log, 300, "creating the server venv")
        pip = [str(venv.python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run_logged(
            [*pip, "install", "-r", str(REQUIREMENTS), "--find-links", str(wheels_dir()), *SHARED_WHEELS],
            log,
            PIP_TIMEOUT,
            "pip install of the alchemiscale 0.8.0 server",
        )
        stamp.write_text(_venv_wanted())
        print(f">> server venv built in {time.monotonic() - started:.0f} s: {venv.path}", file=sys.stderr)
    return venv


# ------------------------------------------------------------------ the Neo4j runner


@dataclass(frozen=True)
class Neo4jRunner:
    directory: Path

    @property
    def jar(self) -> Path:
        return self.directory / "neo4j-runner.jar"

    @property
    def classpath(self) -> str:
        dependencies = (self.directory / "classpath.txt").read_text().strip()
        return f"{self.jar}{os.pathsep}{dependencies}"

    def argv(self, java: str, data_dir: Path, port: int) -> list[str]:
        return [java, "-Xmx768m", "-cp", self.classpath, RUNNER_MAIN_CLASS, str(data_dir), str(port)]


def runner_dir() -> Path:
    return cache_root() / f"neo4j-runner-{NEO4J_VERSION}-{runner_hash()}"


def _runner_current(runner: Neo4jRunner) -> bool:
    stamp = runner.directory / ".stamp"
    if not (stamp.is_file() and stamp.read_text() == f"neo4j={NEO4J_VERSION} sources={runner_hash()}\n"):
        return False
    if not runner.jar.is_file():
        return False
    # The dependency jars live in ~/.m2; if that was cleaned, build again.
    return all(
        Path(jar).is_file() for jar in (runner.directory / "classpath.txt").read_text().strip().split(os.pathsep)
    )


def build_neo4j_runner() -> Neo4jRunner:
    runner = Neo4jRunner(runner_dir())
    if _runner_current(runner):
        return runner
    with _locked(runner.directory.name):
        if _runner_current(runner):
            return runner
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BuildError("Maven (mvn) and a JDK >= 17 are needed to build the Neo4j runner (hack/neo4j-runner)")
        started = time.monotonic()
        project = runner.directory / "project"
        if project.exists():
            shutil.rmtree(project)
        for path in runner_sources():
            target = project / path.relative_to(RUNNER_SOURCE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        classpath_file = runner.directory / "classpath.txt"
        _run_logged(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(project / "pom.xml"),
                "package",
                "dependency:build-classpath",
                f"-Dmdep.outputFile={classpath_file}",
                "-Dmdep.includeScope=runtime",
            ],
            runner.directory / "build.log",
            MAVEN_TIMEOUT,
            "Maven build of the Neo4j runner",
        )
        shutil.copyfile(project / "target" / "neo4j-runner.jar", runner.jar)
        (runner.directory / ".stamp").write_text(f"neo4j={NEO4J_VERSION} sources={runner_hash()}\n")
        print(f">> Neo4j runner built in {time.monotonic() - started:.0f} s: {runner.directory}", file=sys.stderr)
    return runner


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise BuildError("a Java runtime >= 17 is needed to run Neo4j (set JAVA_HOME or put java on PATH)")
    return java


def is_built() -> bool:
    """Whether both builds are cached and current (nothing to download or compile)."""
    venv = ServerVenv(server_venv_dir())
    stamp = venv.path / ".stamp"
    venv_ok = stamp.is_file() and stamp.read_text() == _venv_wanted() and venv.python.exists()
    return venv_ok and _runner_current(Neo4jRunner(runner_dir()))


@dataclass(frozen=True)
class Built:
    venv: ServerVenv
    runner: Neo4jRunner


def build_all() -> Built:
    """Both builds at once (pip and Maven mostly wait on the network)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        venv = pool.submit(build_server_venv)
        runner = pool.submit(build_neo4j_runner)
        return Built(venv=venv.result(), runner=runner.result())
