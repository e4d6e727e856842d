"""A real, local Kubernetes control plane: etcd + kube-apiserver on loopback.

This is what controller-runtime's envtest does, driven from Python: no kubelet, no
kube-controller-manager, but the real API server with CRD validation (OpenAPI and CEL),
the status subresource, RBAC, watches and server-side apply. It backs the test suite and
`make run`.

    with ControlPlane.start() as cp:
        subprocess.run([find_kubectl(), "get", "ns"], env=cp.env(), check=True)

The binaries are built once from Go modules by `hack/build-controlplane.sh` and cached
outside the clone (see docs/development.md); `find_binaries()` locates or builds them.

Cleanup is layered because a test run can be interrupted in every possible way:
`stop()` and the context manager handle the normal path; an atexit hook and a SIGTERM
handler cover an interrupted interpreter; child processes get a parent-death signal so a
SIGKILLed parent does not leave them running; and every start first reaps the work
directories (and process groups) of earlier launchers whose owner process is gone.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from strategy_operator_dev.procs import die_with_parent, free_port
from strategy_operator_dev.repo import find_repo_root

K8S_VERSION = "v1.37.2"
BIN_DIR_ENV = "STRATEGY_OPERATOR_BIN_DIR"
WORKDIR_PREFIX = "strategy-operator-cp-"
OWNER_FILE = "owner.pid"
PGIDS_FILE = "pgids"
ATTEMPTS = 5
LOG_TAIL_LINES = 40

BUILD_SCRIPT = Path("hack") / "build-controlplane.sh"


class ControlPlaneError(RuntimeError):
    """The control plane could not be found, built, started or stopped."""


class _PortClash(ControlPlaneError):
    """A port picked as free was taken before the process bound it; worth a retry."""


# --------------------------------------------------------------------------- binaries


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


# ------------------------------------------------------------------------ certificates


@dataclass(frozen=True)
class _Pki:
    ca_pem: bytes
    serving_cert_pem: bytes
    serving_key_pem: bytes
    admin_cert_pem: bytes
    admin_key_pem: bytes
    service_account_key_pem: bytes
    service_account_public_pem: bytes


def _generate_pki() -> _Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=7)

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def name(common_name: str, organization: str | None = None) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        return x509.Name(attributes)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("strategy-operator-test-ca")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName] | None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)

    serving_cert, serving_key = leaf(
        name("kube-apiserver"),
        ExtendedKeyUsageOID.SERVER_AUTH,
        [
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ],
    )
    # O=system:masters bypasses RBAC, as envtest's default user does; tests that need
    # restricted identities create ServiceAccounts and request tokens for them.
    admin_cert, admin_key = leaf(name("admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH, None)
    service_account_key = ec.generate_private_key(ec.SECP256R1())
    return _Pki(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        serving_cert_pem=serving_cert,
        serving_key_pem=serving_key,
        admin_cert_pem=admin_cert,
        admin_key_pem=admin_key,
        service_account_key_pem=key_pem(service_account_key),
        service_account_public_pem=service_account_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


# --------------------------------------------------------------------------- processes

_live_lock = threading.Lock()
_live: set[ControlPlane] = set()


def _stop_all_live() -> None:
    with _live_lock:
        planes = list(_live)
    for plane in planes:
        with contextlib.suppress(Exception):
            plane.stop()


atexit.register(_stop_all_live)


def _install_sigterm_cleanup() -> None:
    """Turn SIGTERM into a normal interpreter exit so atexit and fixture teardown run.

    Only when nobody else handles SIGTERM and only from the main thread (Python's rule);
    Kopf and others that install their own handler keep it.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _exit_on_sigterm(signum: int, frame: object) -> None:
        _stop_all_live()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_belongs_to(pgid: int, workdir: Path) -> bool:
    """True when the group's leader still runs with `workdir` on its command line (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(workdir).encode() in cmdline


def reap_stale_workdirs(base: Path | None = None) -> list[Path]:
    """Remove work directories (and kill their process groups) left by launchers that died.

    Returns the directories removed. A directory is stale when the pid in its owner file is
    gone; its recorded process groups are killed only if they still run from that directory.
    """
    base = base or Path(tempfile.gettempdir())
    removed = []
    for workdir in base.glob(WORKDIR_PREFIX + "*"):
        owner = _owner_of(workdir)
        if owner is None or owner == os.getpid() or _pid_alive(owner):
            continue
        _kill_recorded_groups(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def _owner_of(workdir: Path) -> int | None:
    try:
        return int((workdir / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _kill_recorded_groups(workdir: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in (workdir / PGIDS_FILE).read_text().split():
            pgid = int(line)
            if _group_belongs_to(pgid, workdir):
                _kill_group(pgid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (workdir / PGIDS_FILE).unlink()


def _claim_explicit_workdir(workdir: Path) -> None:
    """Take over a caller-chosen workdir, finishing off a previous launcher that was killed."""
    owner = _owner_of(workdir)
    if owner is not None and owner != os.getpid() and _pid_alive(owner):
        raise ControlPlaneError(f"{workdir} is in use by another control plane (launcher pid {owner})")
    _kill_recorded_groups(workdir)


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def describe_failure(self, what: str) -> str:
        return f"{self.name} {what}; last lines of {self.log_path}:\n{self.log_tail()}"

    def clashed_on_port(self) -> bool:
        tail = self.log_tail(200).lower()
        return "address already in use" in tail or "bind: address" in tail

    def terminate(self, timeout: float) -> None:
        if self.popen.poll() is not None:
            _kill_group(self.popen.pid, signal.SIGKILL)  # stray grandchildren, if any
            return
        _kill_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)


# ------------------------------------------------------------------------ control plane


@dataclass(eq=False)  # identity semantics: instances live in a set of running planes
class ControlPlane:
    """A running etcd + kube-apiserver pair. Create it with `ControlPlane.start()`."""

    workdir: Path
    server_url: str
    kubeconfig: Path
    ca_file: Path
    etcd_url: str
    _owns_workdir: bool
    _processes: list[_Process] = field(default_factory=list)
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
    ) -> ControlPlane:
        """Start etcd and kube-apiserver on free loopback ports and wait until /readyz is ok.

        `workdir=None` uses a fresh temporary directory, removed on stop; an explicit workdir
        is created if needed and kept (logs and kubeconfig stay for inspection) but its etcd
        data is removed on stop.
        """
        binaries = binaries or find_binaries()
        reap_stale_workdirs()
        _install_sigterm_cleanup()
        last_clash: _PortClash | None = None
        for _ in range(attempts):
            if workdir is None:
                root, owns = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX)), True
            else:
                root, owns = Path(workdir).resolve(), False
                root.mkdir(parents=True, exist_ok=True)
                _claim_explicit_workdir(root)
            try:
                return cls._start_once(root, owns, binaries, ready_timeout, extra_apiserver_args)
            except _PortClash as clash:
                last_clash = clash
        raise ControlPlaneError(f"could not find free ports after {attempts} attempts: {last_clash}")

    @classmethod
    def _start_once(
        cls, root: Path, owns: bool, binaries: Binaries, ready_timeout: float, extra_args: tuple[str, ...]
    ) -> ControlPlane:
        (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        pki_dir = root / "pki"
        pki_dir.mkdir(exist_ok=True)
        pki = _generate_pki()
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
        with _live_lock:
            _live.add(plane)
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
                    "--bind-address=127.0.0.1",
                    f"--secure-port={apiserver_port}",
                    # No default route is needed with an explicit address; `none` skips the
                    # Endpoints reconciler that rejects loopback addresses.
                    "--advertise-address=127.0.0.1",
                    "--endpoint-reconciler-type=none",
                    f"--cert-dir={pki_dir}",
                    f"--tls-cert-file={pki_dir / 'serving.crt'}",
                    f"--tls-private-key-file={pki_dir / 'serving.key'}",
                    f"--client-ca-file={pki_dir / 'ca.crt'}",
                    f"--service-account-issuer={server_url}",
                    f"--service-account-key-file={pki_dir / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
                    "--service-cluster-ip-range=10.0.0.0/24",
                    "--authorization-mode=RBAC",
                    "--allow-privileged=true",
                    # Without kube-controller-manager nobody creates the `default` ServiceAccount.
                    "--disable-admission-plugins=ServiceAccount",
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

    def _spawn(self, name: str, argv: list[str]) -> _Process:
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
        process = _Process(name, popen, log_path)
        self._processes.append(process)
        with open(self.workdir / PGIDS_FILE, "a") as pgids:
            pgids.write(f"{popen.pid}\n")
        return process

    def _wait_until(self, process: _Process, timeout: float, ready: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.popen.poll() is not None:
                if process.clashed_on_port():
                    raise _PortClash(process.describe_failure("lost a port race"))
                raise ControlPlaneError(process.describe_failure(f"exited with code {process.popen.returncode}"))
            if ready():
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(process.describe_failure(f"{failure} within {timeout:.0f}s"))
            time.sleep(0.1)

    def _write_kubeconfig(self, pki: _Pki) -> None:
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
            with _live_lock:
                _live.discard(self)
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


# ------------------------------------------------------------------------------ command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir", type=Path, help="keep certificates, logs and the kubeconfig here (default: a temp dir)"
    )
    parser.add_argument(
        "--no-build", action="store_true", help=f"do not run the build script; use ${BIN_DIR_ENV} or the cache"
    )


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    binaries = find_binaries(build=not args.no_build)
    with ControlPlane.start(args.workdir, binaries=binaries) as plane:
        print(
            f"# kube-apiserver {K8S_VERSION} ready at {plane.server_url} in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        print(f"# logs: {plane.workdir}; Ctrl-C stops it and removes temporary files", flush=True)
        print(f"export KUBECONFIG={plane.kubeconfig}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not plane.running:
                for process in plane._processes:
                    if process.popen.poll() is not None:
                        print(process.describe_failure(f"exited with code {process.popen.returncode}"), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(
        prog="python -m strategy_operator_dev.controlplane", description=__doc__.splitlines()[0]
    )
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
