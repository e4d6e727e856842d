"""The local control plane itself: versions, RBAC, and cleanup however a run ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from strategy_operator_dev import controlplane, procs
from strategy_operator_dev.controlplane import Binaries, ControlPlane, ControlPlaneError, find_binaries
from strategy_operator_dev.procs import find_kubectl
from strategy_operator_dev.repo import repo_root

pytestmark = pytest.mark.kubernetes


def _minor(version: dict[str, str]) -> str:
    return version["minor"].rstrip("+")


def test_kubectl_and_server_share_a_minor_version(_session_kubectl):
    versions = json.loads(_session_kubectl("version", "--output=json").stdout)
    assert versions["serverVersion"]["gitVersion"] == controlplane.K8S_VERSION
    assert _minor(versions["clientVersion"]) == _minor(versions["serverVersion"])


def test_control_plane_exports_its_kubeconfig(control_plane):
    assert os.environ["KUBECONFIG"] == str(control_plane.kubeconfig)
    assert control_plane.server_url.startswith("https://127.0.0.1:")
    assert control_plane.running


def test_rbac_is_enforced_for_service_account_tokens(control_plane, kubectl, namespace, tmp_path):
    kubectl("create", "serviceaccount", "reader")
    token = kubectl("create", "token", "reader").stdout.strip()
    empty_kubeconfig = tmp_path / "empty-kubeconfig"
    empty_kubeconfig.write_text("")

    def as_reader(*args: str) -> subprocess.CompletedProcess[str]:
        # A kubeconfig without the admin client certificate: x509 would win over the token.
        return subprocess.run(
            [
                str(find_kubectl()),
                f"--kubeconfig={empty_kubeconfig}",
                f"--server={control_plane.server_url}",
                f"--certificate-authority={control_plane.ca_file}",
                f"--token={token}",
                f"--namespace={namespace}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    denied = as_reader("get", "configmaps")
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert f"system:serviceaccount:{namespace}:reader" in denied.stderr

    kubectl("create", "role", "read-configmaps", "--verb=get,list", "--resource=configmaps")
    kubectl("create", "rolebinding", "reader-reads", "--role=read-configmaps", f"--serviceaccount={namespace}:reader")
    allowed = as_reader("get", "configmaps")
    assert allowed.returncode == 0, allowed.stderr


# ------------------------------------------------------------------ launcher lifecycle


def _group_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        if _is_zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[1].split()[0] == "Z"


def test_stop_terminates_both_processes_and_removes_the_workdir():
    plane = ControlPlane.start(binaries=find_binaries())
    pids = [p.popen.pid for p in plane._processes]
    workdir = plane.workdir
    assert workdir.is_dir() and plane.kubeconfig.is_file()

    plane.stop()
    plane.stop()  # idempotent

    assert not workdir.exists()
    assert all(_group_gone(pid) for pid in pids)
    assert not plane.running


def test_an_explicit_workdir_is_kept_without_its_etcd_data(tmp_path):
    workdir = tmp_path / "plane"
    with ControlPlane.start(workdir, binaries=find_binaries()) as plane:
        assert (workdir / "etcd-data").is_dir()
        assert plane.kubeconfig.parent == workdir
    assert workdir.is_dir()
    assert not (workdir / "etcd-data").exists()
    assert (workdir / "kube-apiserver.log").is_file()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from strategy_operator_dev.controlplane import ControlPlane, find_binaries
    plane = ControlPlane.start(binaries=find_binaries())
    print(plane.workdir, *[p.popen.pid for p in plane._processes], flush=True)
    time.sleep(300)
    """
)


def _start_child_plane() -> tuple[subprocess.Popen[str], Path, list[int]]:
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline().split()
    assert line, "the child process did not start a control plane"
    return child, Path(line[0]), [int(pid) for pid in line[1:]]


def test_sigterm_to_the_launching_process_stops_the_plane_and_cleans_up():
    child, workdir, pids = _start_child_plane()
    child.send_signal(signal.SIGTERM)
    child.wait(30)
    assert all(_group_gone(pid) for pid in pids)
    assert not workdir.exists()


def test_a_killed_launcher_leaves_no_processes_and_its_workdir_is_reaped():
    child, workdir, pids = _start_child_plane()
    child.kill()
    child.wait(30)
    # The parent-death signal takes the children down with it...
    assert all(_group_gone(pid) for pid in pids)
    # ...and the next launcher removes the directory the killed one could not.
    assert workdir.exists()
    assert workdir in controlplane.reap_stale_workdirs(workdir.parent)
    assert not workdir.exists()


def test_start_retries_when_a_port_is_taken(monkeypatch):
    occupied = socket.socket()
    occupied.bind(("127.0.0.1", 0))
    occupied.listen()
    taken = occupied.getsockname()[1]
    real_free_port = controlplane.plane.free_port
    handed_out: list[int] = []

    def first_port_taken() -> int:
        port = taken if not handed_out else real_free_port()
        handed_out.append(port)
        return port

    monkeypatch.setattr(controlplane.plane, "free_port", first_port_taken)
    try:
        with ControlPlane.start(binaries=find_binaries()) as plane:
            assert plane.running
            assert f":{taken}" not in plane.etcd_url
    finally:
        occupied.close()
    assert len(handed_out) > 3, "the first attempt should have failed and a second one picked new ports"


def _launcher_workdirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(controlplane.WORKDIR_PREFIX + "*"))


def test_a_failing_apiserver_is_reported_with_its_log_tail(tmp_path):
    real = find_binaries()
    before = _launcher_workdirs()
    broken = tmp_path / "kube-apiserver"
    broken.write_text("#!/bin/sh\necho 'refusing to serve: simulated failure' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(ControlPlaneError) as failure:
        ControlPlane.start(binaries=Binaries(kube_apiserver=broken, etcd=real.etcd, helm=None))
    message = str(failure.value)
    assert "kube-apiserver exited with code 3" in message
    assert "refusing to serve: simulated failure" in message
    assert _launcher_workdirs() <= before


def test_find_kubectl_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(procs.KUBECTL_ENV, str(find_kubectl()))
    assert find_kubectl() == Path(os.environ[procs.KUBECTL_ENV])


def test_binaries_directory_without_apiserver_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(controlplane.BIN_DIR_ENV, str(tmp_path))
    with pytest.raises(ControlPlaneError, match="kube-apiserver"):
        find_binaries()


# ------------------------------------------------------------------------- the build

REPO_ROOT = repo_root()
BUILD_SCRIPT = REPO_ROOT / "hack" / "build-controlplane.sh"
TOOL_MODULE = REPO_ROOT / "hack" / "controlplane"


def test_a_current_stamp_makes_the_build_script_a_lookup():
    find_binaries()  # builds if the cache is stale, so the timed call below is a stamp hit
    started = time.monotonic()
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=60, check=True)
    assert time.monotonic() - started < 5
    assert result.stderr == ""
    (directory,) = result.stdout.splitlines()
    stamp = (Path(directory) / ".stamp").read_text()
    assert f"k8s={controlplane.K8S_VERSION} " in stamp
    assert all(os.access(Path(directory) / name, os.X_OK) for name in ("kube-apiserver", "etcd", "helm"))


def test_the_tool_module_replaces_exactly_the_staging_modules_of_its_kubernetes():
    go_mod = (TOOL_MODULE / "go.mod").read_text()
    replaced = sorted(line.split()[1] for line in go_mod.splitlines() if line.startswith("replace k8s.io/"))
    try:
        modcache = subprocess.run(
            ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("go is not available to locate the module cache")
    upstream = (
        Path(modcache) / "cache" / "download" / "k8s.io" / "kubernetes" / "@v" / f"{controlplane.K8S_VERSION}.mod"
    )
    if not upstream.is_file():
        pytest.skip(f"{upstream} is not in the module cache")
    staging = sorted(
        line.split()[0]
        for line in upstream.read_text().splitlines()
        if "=> ./staging/" in line and line.split()[0].startswith("k8s.io/")
    )
    assert replaced == staging
    staging_version = "v0." + controlplane.K8S_VERSION.removeprefix("v1.")
    assert all(
        line.endswith(f" {staging_version}") for line in go_mod.splitlines() if line.startswith("replace k8s.io/")
    )
    assert f"k8s.io/kubernetes {controlplane.K8S_VERSION}" in go_mod


def test_an_explicit_workdir_left_by_a_killed_launcher_is_taken_over(tmp_path):
    workdir = tmp_path / "plane"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.replace("ControlPlane.start(", f"ControlPlane.start({str(workdir)!r}, ")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().split()[0] == str(workdir)
    with pytest.raises(ControlPlaneError, match="in use by another control plane"):
        ControlPlane.start(workdir, binaries=find_binaries())
    child.kill()
    child.wait(30)
    with ControlPlane.start(workdir, binaries=find_binaries()) as plane:
        assert plane.running
