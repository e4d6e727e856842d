"""kube-apiserver, etcd and helm: found in the cache or built by `hack/build-controlplane.sh`."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from strategy_operator_dev.controlplane.errors import ControlPlaneError
from strategy_operator_dev.repo import find_repo_root

K8S_VERSION = "v1.37.2"
BIN_DIR_ENV = "STRATEGY_OPERATOR_BIN_DIR"
BUILD_SCRIPT = Path("hack") / "build-controlplane.sh"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    helm: Path | None

    @classmethod
    def in_directory(cls, directory: Path) -> Binaries:
        missing = [name for name in ("kube-apiserver", "etcd") if not os.access(directory / name, os.X_OK)]
        if missing:
            raise ControlPlaneError(f"{directory} lacks executable {', '.join(missing)}")
        helm = directory / "helm"
        return cls(directory / "kube-apiserver", directory / "etcd", helm if os.access(helm, os.X_OK) else None)


def default_cache_bin_dir() -> Path:
    """Where `hack/build-controlplane.sh` installs the binaries (mirrors its logic)."""
    cache_root = os.environ.get("STRATEGY_OPERATOR_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "strategy-operator"
    )
    return Path(cache_root) / f"k8s-{os.environ.get('K8S_VERSION', K8S_VERSION)}" / "bin"


def find_binaries(*, build: bool = True) -> Binaries:
    """Locate kube-apiserver, etcd and helm.

    Order: `$STRATEGY_OPERATOR_BIN_DIR`; otherwise the build script (a stamp makes it return
    at once when the cache is current, and it builds on a cold machine) when `build` is true
    and we run from a checkout (`strategy_operator_dev.repo`); otherwise the default cache directory.
    """
    explicit = os.environ.get(BIN_DIR_ENV)
    if explicit:
        return Binaries.in_directory(Path(explicit))
    repo = find_repo_root()
    build_script = repo / BUILD_SCRIPT if repo is not None else None
    if build and build_script is not None and build_script.is_file():
        proc = subprocess.run(["bash", str(build_script)], stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise ControlPlaneError(f"{build_script} failed with exit code {proc.returncode} (its stderr is above)")
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise ControlPlaneError(f"{build_script} printed no binary directory")
        return Binaries.in_directory(Path(lines[-1]))
    return Binaries.in_directory(default_cache_bin_dir())
