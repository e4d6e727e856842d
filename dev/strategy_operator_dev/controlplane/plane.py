"""`ControlPlane`: etcd and kube-apiserver started, checked, and stopped as one."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from strategy_operator_dev.controlplane.binaries import Binaries, find_binaries
from strategy_operator_dev.controlplane.errors import ControlPlaneError, PortClash
from strategy_operator_dev.controlplane.network import DEFAULT_SERVICE_CIDR, LOOPBACK_ARGS, PodNetwork
from strategy_operator_dev.controlplane.pki import Pki, generate_pki
from strategy_operator_dev.controlplane.processes import (
    OWNER_FILE,
    PGIDS_FILE,
    WORKDIR_PREFIX,
    Process,
    claim_explicit_workdir,
    install_sigterm_cleanup,
    live_lock,
    live_planes,
    reap_stale_workdirs,
)
from strategy_operator_dev.procs import die_with_parent, free_port

ATTEMPTS = 5


@dataclass(eq=False)  # identity semantics: instances live in a set of running planes
class ControlPlane:
    """A running etcd + kube-apiserver pair. Create it with `ControlPlane.start()`."""

    workdir: Path
    server_url: str
    kubeconfig: Path
    ca_file: Path
    etcd_url: str
    _owns_workdir: bool
    _processes: list[Process] = field(default_factory=list)
    _stopped: bool = False

    @classmethod
    def start(
        cls,
        workdir: Path | str | None = None,
        *,
        binaries: Binaries | None = None,
        ready_timeout: float = 120.0,
        attempts: int = ATTEMPTS,
        extra_apiserver_args: tuple[str, ...] = (),
        network: PodNetwork | None = None,
    ) -> ControlPlane:
        """Start etcd and kube-apiserver on free loopback ports and wait until /readyz is ok.

        `workdir=None` uses a fresh temporary directory, removed on stop; an explicit workdir
        is created if needed and kept (logs and kubeconfig stay for inspection) but its etcd
        data is removed on stop. `network` is for a plane that serves pods (see `PodNetwork`);
        without it the plane is envtest-like: loopback only, no ServiceAccount admission.
        """
        binaries = binaries or find_binaries()
        reap_stale_workdirs()
        install_sigterm_cleanup()
        last_clash: PortClash | None = None
        for _ in range(attempts):
            if workdir is None:
                root, owns = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX)), True
            else:
                root, owns = Path(workdir).resolve(), False
                root.mkdir(parents=True, exist_ok=True)
                claim_explicit_workdir(root)
            try:
                return cls._start_once(root, owns, binaries, ready_timeout, extra_apiserver_args, network)
            except PortClash as clash:
                last_clash = clash
        raise ControlPlaneError(f"could not find free ports after {attempts} attempts: {last_clash}")

    @classmethod
    def _start_once(
        cls,
        root: Path,
        owns: bool,
        binaries: Binaries,
        ready_timeout: float,
        extra_args: tuple[str, ...],
        network: PodNetwork | None = None,
    ) -> ControlPlane:
        (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        pki_dir = root / "pki"
        pki_dir.mkdir(exist_ok=True)
        pki = generate_pki(network.certificate_addresses if network else ())
        files = {
            "ca.crt": pki.ca_pem,
            "serving.crt": pki.serving_cert_pem,
            "serving.key": pki.serving_key_pem,
            "admin.crt": pki.admin_cert_pem,
            "admin.key": pki.admin_key_pem,
            "sa.key": pki.service_account_key_pem,
            "sa.pub": pki.service_account_public_pem,
        }
        for filename, content in files.items():
            path = pki_dir / filename
            path.write_bytes(content)
            path.chmod(0o600)

        etcd_client_port, etcd_peer_port, apiserver_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_client_port}"
        server_url = f"https://127.0.0.1:{apiserver_port}"
        plane = cls(
            workdir=root,
            server_url=server_url,
            kubeconfig=root / "kubeconfig",
            ca_file=pki_dir / "ca.crt",
            etcd_url=etcd_url,
            _owns_workdir=owns,
        )
        with live_lock:
            live_planes.add(plane)
        try:
            etcd_data = root / "etcd-data"
            shutil.rmtree(etcd_data, ignore_errors=True)
            peer_url = f"http://127.0.0.1:{etcd_peer_port}"
            etcd = plane._spawn(
                "etcd",
                [
                    str(binaries.etcd),
                    "--name=default",
                    f"--data-dir={etcd_data}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=default={peer_url}",
                    "--unsafe-no-fsync=true",
                    "--log-level=warn",
                ],
            )
            plane._wait_until(etcd, ready_timeout, lambda: _etcd_healthy(etcd_url), "did not become healthy")

            apiserver = plane._spawn(
                "kube-apiserver",
                [
                    str(binaries.kube_apiserver),
                    f"--etcd-servers={etcd_url}",
                    f"--secure-port={apiserver_port}",
                    *(network.apiserver_args() if network else LOOPBACK_ARGS),
                    f"--cert-dir={pki_dir}",
                    f"--tls-cert-file={pki_dir / 'serving.crt'}",
                    f"--tls-private-key-file={pki_dir / 'serving.key'}",
                    f"--client-ca-file={pki_dir / 'ca.crt'}",
                    f"--service-account-issuer={server_url}",
                    f"--service-account-key-file={pki_dir / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
                    f"--service-cluster-ip-range={network.service_cidr if network else DEFAULT_SERVICE_CIDR}",
                    "--authorization-mode=RBAC",
                    "--allow-privileged=true",
                    "--profiling=false",
                    *extra_args,
                ],
            )
            ssl_context = ssl.create_default_context(cafile=str(plane.ca_file))
            plane._wait_until(
                apiserver, ready_timeout, lambda: _apiserver_ready(server_url, ssl_context), "did not become ready"
            )
            plane._write_kubeconfig(pki)
            return plane
        except BaseException:
            plane.stop()
            raise

    def _spawn(self, name: str, argv: list[str]) -> Process:
        log_path = self.workdir / f"{name}.log"
        log = open(log_path, "wb")
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # its own process group: one killpg stops it all
                # The parent-death signal follows the launching *thread*; from a worker
                # thread it would fire when that thread ends, so only use it from main.
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        finally:
            log.close()
        process = Process(name, popen, log_path)
        self._processes.append(process)
        with open(self.workdir / PGIDS_FILE, "a") as pgids:
            pgids.write(f"{popen.pid}\n")
        return process

    def _wait_until(self, process: Process, timeout: float, ready: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.popen.poll() is not None:
                if process.clashed_on_port():
                    raise PortClash(process.describe_failure("lost a port race"))
                raise ControlPlaneError(process.describe_failure(f"exited with code {process.popen.returncode}"))
            if ready():
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(process.describe_failure(f"{failure} within {timeout:.0f}s"))
            time.sleep(0.1)

    def _write_kubeconfig(self, pki: Pki) -> None:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "local", "cluster": {"server": self.server_url, "certificate-authority-data": b64(pki.ca_pem)}}
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": b64(pki.admin_cert_pem),
                        "client-key-data": b64(pki.admin_key_pem),
                    },
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin", "namespace": "default"}}],
            "current-context": "local",
        }
        # JSON is valid YAML and needs no extra dependency.
        self.kubeconfig.write_text(json.dumps(config, indent=2) + "\n")
        self.kubeconfig.chmod(0o600)

    # ----------------------------------------------------------------- public helpers

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for subprocesses (kubectl, helm, the operator) that targets this plane."""
        env = dict(os.environ if base is None else base)
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def pid_of(self, name: str) -> int:
        """The pid of one of the plane's processes (`etcd`, `kube-apiserver`), e.g. to SIGSTOP it in a test."""
        for process in self._processes:
            if process.name == name:
                return process.popen.pid
        raise ControlPlaneError(f"no process {name!r} in this control plane")

    @property
    def running(self) -> bool:
        return not self._stopped and all(p.popen.poll() is None for p in self._processes)

    def logs(self) -> dict[str, Path]:
        return {p.name: p.log_path for p in self._processes}

    def stop(self, timeout: float = 15.0) -> None:
        """Stop kube-apiserver, then etcd, and remove what this launcher created. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            for process in reversed(self._processes):
                process.terminate(timeout)
        finally:
            with live_lock:
                live_planes.discard(self)
            if self._owns_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
                for leftover in (OWNER_FILE, PGIDS_FILE):
                    with contextlib.suppress(FileNotFoundError):
                        (self.workdir / leftover).unlink()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"ControlPlane(server_url={self.server_url!r}, workdir={str(self.workdir)!r}, {state})"


def _etcd_healthy(etcd_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as response:
            return json.load(response).get("health") == "true"
    except (OSError, ValueError):
        return False


def _apiserver_ready(server_url: str, ssl_context: ssl.SSLContext) -> bool:
    # Anonymous requests may read /readyz (system:public-info-viewer), so no credentials.
    try:
        with urllib.request.urlopen(f"{server_url}/readyz", timeout=5, context=ssl_context) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False
    except OSError as error:
        if isinstance(error, ssl.SSLCertVerificationError):
            raise ControlPlaneError(f"kube-apiserver serves a certificate our CA does not verify: {error}") from error
        return False


@contextlib.contextmanager
def running_control_plane(workdir: Path | str | None = None, **kwargs: object) -> Iterator[ControlPlane]:
    """`with running_control_plane() as cp:` — the context-manager spelling of `ControlPlane.start`."""
    plane = ControlPlane.start(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield plane
    finally:
        plane.stop()
