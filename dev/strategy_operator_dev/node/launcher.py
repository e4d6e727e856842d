"""A real one-node Kubernetes cluster inside a network namespace, for the e2e tests.

What kind gives other projects, from this repository's own scripts: etcd, kube-apiserver
(ServiceAccount admission on, the `kubernetes` Service backed by the node's address),
kube-controller-manager, kube-scheduler, containerd and a kubelet, all in one network
namespace that this module creates and deletes. The calling process's main thread enters
that namespace for the node's lifetime, so every socket it opens (kubectl, helm, the
sandbox alchemiscale the test starts) lives there too; nothing listens on or talks to the
host's interfaces.

    with Node.start() as node:
        node.kubectl("get", "nodes")

Layout inside the namespace (names are per node, `so-e2e-<id>`):
  cni0   a bridge with the node's address 10.88.0.1/24; pods get 10.88.0.x from host-local
  10.0.0.1:443 (the `kubernetes` Service) -> one iptables DNAT rule -> 10.88.0.1:<apiserver>

Host side effects and how each is undone (`HostSnapshot` in host.py checks them):
- containerd and the kubelet run in a private mount namespace (a holder process made with
  `unshare --mount --propagation slave`); the fixed paths they write outside their own
  directories (/run/containerd, /run/netns, /var/lib/cni, /var/log/containers) are tmpfs
  there, so no mount ever reaches the host and all of them vanish with the namespace;
- pod cgroups live under a cgroup root of their own in every hierarchy, removed on stop;
- the kernel sysctls the kubelet writes are recorded first and written back;
- container processes and shims are killed by PID (found by cgroup and by the containerd
  socket on their command line), never by name.
`stop()` does all of it; an atexit hook and the control plane's SIGTERM handler cover an
interrupted run, and `python -m strategy_operator_dev.node cleanup` (also run at every start)
finishes off a node whose launcher was killed.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from strategy_operator_dev.controlplane import Binaries, ControlPlane, PodNetwork, find_binaries
from strategy_operator_dev.controlplane.processes import Process
from strategy_operator_dev.procs import die_with_parent, find_kubectl
from strategy_operator_dev.repo import repo_root

from .host import CGROUP_ROOT, NAME_PREFIX, HostSnapshot, restore_sysctls

NODE_NAME = "strategy-operator-e2e"
NODE_ADDRESS = "10.88.0.1"
POD_SUBNET = "10.88.0.0/24"
SERVICE_CIDR = "10.0.0.0/24"
BRIDGE = "cni0"
OWNER_FILE = "owner.pid"
SYSCTLS_FILE = "host-sysctls.json"
CREATED_DIRS_FILE = "created-dirs.json"
# Fixed paths containerd/the kubelet/CNI write to whatever their configuration says; each is
# a tmpfs in the node's private mount namespace.
PRIVATE_PATHS = ("/run/containerd", "/run/netns", "/var/lib/cni", "/var/log/containers")
_CLONE_NEWNET = 0x40000000


class NodeError(RuntimeError):
    """The node could not be built, started or stopped cleanly."""


# ------------------------------------------------------------------------------ builds


def _run_build_script(script: str) -> list[str]:
    path = repo_root() / "hack" / script
    proc = subprocess.run(["bash", str(path)], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise NodeError(f"{path} failed with exit code {proc.returncode} (its stderr is above)")
    return proc.stdout.strip().splitlines()


def node_binaries() -> Path:
    """kubelet, kube-controller-manager and kube-scheduler (hack/build-node.sh, cached)."""
    return Path(_run_build_script("build-node.sh")[-1])


@dataclass(frozen=True)
class Image:
    reference: str
    archive: Path


def node_images() -> dict[str, Image]:
    """pause, base and project images as OCI archives (hack/build-images.sh, cached)."""
    images = {}
    for line in _run_build_script("build-images.sh")[-3:]:
        name, reference, archive = line.split()
        images[name] = Image(reference, Path(archive))
    if set(images) != {"pause", "base", "project"}:
        raise NodeError(f"hack/build-images.sh printed {sorted(images)}, expected pause, base and project")
    return images


# --------------------------------------------------------------------- network namespace

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NodeError(f"setns failed: {os.strerror(errno)}")


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise NodeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _is_mount_point(path: str) -> bool:
    # Not os.path.ismount: it misses bind mounts within one filesystem, which is what ip makes.
    return any(line.split()[4] == path for line in Path("/proc/self/mountinfo").read_text().splitlines())


@dataclass
class _NetworkNamespace:
    name: str
    host_fd: int | None = None
    # `ip netns add` makes /run/netns (a directory and a bind mount) on first use.
    _made_run_netns: bool = False

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def create(self) -> None:
        self._made_run_netns = not _is_mount_point("/run/netns")
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")
        _ip("-n", self.name, "link", "add", BRIDGE, "type", "bridge")
        _ip("-n", self.name, "addr", "add", f"{NODE_ADDRESS}/24", "dev", BRIDGE)
        _ip("-n", self.name, "link", "set", BRIDGE, "up")

    def enter(self) -> None:
        """Move this process (it must have only one thread) into the namespace."""
        if threading.active_count() != 1 or threading.current_thread() is not threading.main_thread():
            raise NodeError(
                "the node must be started from the main thread of a single-threaded process: "
                f"{threading.active_count()} threads run, and setns moves only the calling one"
            )
        self.host_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def leave(self) -> None:
        if self.host_fd is not None:
            _setns(self.host_fd)

    @property
    def host_path(self) -> str:
        """A path to the host's network namespace, valid while this process runs."""
        if self.host_fd is None:
            return "/proc/self/ns/net"
        return f"/proc/{os.getpid()}/fd/{self.host_fd}"

    def delete(self) -> None:
        if Path(self.path).exists():
            subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=30)
        if self._made_run_netns and _is_mount_point("/run/netns") and not os.listdir("/run/netns"):
            subprocess.run(["umount", "/run/netns"], capture_output=True, timeout=30)
            with contextlib.suppress(OSError):
                os.rmdir("/run/netns")
        if self.host_fd is not None:
            os.close(self.host_fd)
            self.host_fd = None


# ------------------------------------------------------------------------------- node

_live: set[Node] = set()


@atexit.register
def _stop_live_nodes() -> None:
    for node in list(_live):
        with contextlib.suppress(Exception):
            node.stop()


@dataclass(eq=False)
class Node:
    """A running one-node cluster. Create it with `Node.start()`; `stop()` undoes everything."""

    name: str
    workdir: Path
    images: dict[str, Image]
    netns: _NetworkNamespace
    host_before: HostSnapshot
    binaries: Binaries | None = None
    _plane: ControlPlane | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _processes: list[Process] = field(default_factory=list)
    _holder: Process | None = None
    _created_dirs: list[str] = field(default_factory=list)
    _stopped: bool = False

    @property
    def plane(self) -> ControlPlane:
        """etcd + kube-apiserver of this node (kubeconfig, server_url, env())."""
        if self._plane is None:
            raise NodeError("the node's control plane is not running")
        return self._plane

    # ---------------------------------------------------------------- start

    @classmethod
    def start(cls, *, ready_timeout: float = 180.0) -> Node:
        """Build (cached) and start everything, import the images and wait for the node to be Ready."""
        reap_stale_nodes()
        started = time.monotonic()
        binaries = find_binaries()
        node_bin = node_binaries()
        images = node_images()
        build_seconds = time.monotonic() - started

        node_id = uuid.uuid4().hex[:8]
        name = NAME_PREFIX + node_id
        # Short: containerd's socket path must stay under the 108-byte limit.
        workdir = Path(tempfile.mkdtemp(prefix=name + "-", dir="/tmp"))
        (workdir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        netns = _NetworkNamespace(name)
        host_before = HostSnapshot.take("/proc/self/ns/net")
        (workdir / SYSCTLS_FILE).write_text(json.dumps(host_before.sysctls))
        node = cls(name=name, workdir=workdir, images=images, netns=netns, host_before=host_before, binaries=binaries)
        node.timings["builds (cached)"] = build_seconds
        _live.add(node)
        try:
            netns.create()
            netns.enter()
            t = time.monotonic()
            network = PodNetwork(advertise_address=NODE_ADDRESS, service_cidr=SERVICE_CIDR)
            node._plane = ControlPlane.start(
                workdir / "cp",
                binaries=binaries,
                network=network,
                extra_apiserver_args=node._apiserver_args(workdir / "cp" / "pki"),
            )
            node.timings["control plane ready"] = time.monotonic() - t
            node._add_service_dnat(network)
            node._start_controllers(node_bin)
            t = time.monotonic()
            node._start_holder()
            node._start_containerd()
            node._import_images()
            node.timings["containerd + image import"] = time.monotonic() - t
            t = time.monotonic()
            node._start_kubelet(node_bin)
            node._wait_ready(ready_timeout)
            node.timings["node Ready"] = time.monotonic() - t
            node.timings["total start"] = time.monotonic() - started
            return node
        except BaseException:
            node.stop()
            raise

    def _apiserver_args(self, pki: Path) -> tuple[str, ...]:
        return (f"--kubelet-client-certificate={pki / 'admin.crt'}", f"--kubelet-client-key={pki / 'admin.key'}")

    def _spawn(self, name: str, argv: list[str], *, in_holder: bool = True) -> Process:
        if in_holder and self._holder is not None:
            argv = ["nsenter", f"--target={self._holder.popen.pid}", "--mount", "--", *argv]
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        process = Process(name, popen, log_path)
        self._processes.append(process)
        return process

    def _add_service_dnat(self, network: PodNetwork) -> None:
        """What kube-proxy would do for the one Service the operator uses: `kubernetes`."""
        port = self.plane.server_url.rsplit(":", 1)[1]
        for chain in ("PREROUTING", "OUTPUT"):
            _check(
                [
                    "iptables",
                    "-t",
                    "nat",
                    "-A",
                    chain,
                    "-d",
                    f"{network.service_ip}/32",
                    "-p",
                    "tcp",
                    "--dport",
                    "443",
                    "-j",
                    "DNAT",
                    "--to-destination",
                    f"{NODE_ADDRESS}:{port}",
                ]
            )

    def _start_controllers(self, node_bin: Path) -> None:
        pki = self.plane.workdir / "pki"
        kubeconfig = str(self.plane.kubeconfig)
        self._spawn(
            "kube-controller-manager",
            [
                str(node_bin / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                "--use-service-account-credentials=false",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
            ],
            in_holder=False,
        )
        self._spawn(
            "kube-scheduler",
            [
                str(node_bin / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
            ],
            in_holder=False,
        )

    def _start_holder(self) -> None:
        for path in PRIVATE_PATHS:
            if not os.path.isdir(path):
                os.makedirs(path)
                self._created_dirs.append(path)
        (self.workdir / CREATED_DIRS_FILE).write_text(json.dumps(self._created_dirs))
        mounts = " && ".join(f"mount -t tmpfs -o mode=0755 tmpfs {p}" for p in PRIVATE_PATHS)
        self._holder = self._spawn(
            "mount-namespace",
            [
                "unshare",
                "--mount",
                "--propagation",
                "slave",
                "--",
                "sh",
                "-c",
                f"{mounts} && touch {self.workdir}/mounts-ready && exec sleep 86400",
            ],
            in_holder=False,
        )
        self._wait(self._holder, 15, lambda: (self.workdir / "mounts-ready").exists(), "did not mount its tmpfs")
        # The holder must have exec'd sleep (its mounts are then in place for every nsenter).
        time.sleep(0.1)

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "containerd" / "containerd.sock"

    def _start_containerd(self) -> None:
        base = self.workdir / "containerd"
        cni_conf = self.workdir / "cni"
        for d in (base, cni_conf):
            d.mkdir(parents=True, exist_ok=True)
        (cni_conf / "10-e2e.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "1.0.0",
                    "name": "e2e",
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": BRIDGE,
                            "isGateway": True,
                            "ipMasq": False,
                            "hairpinMode": True,
                            "ipam": {
                                "type": "host-local",
                                "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_ADDRESS}]],
                                "routes": [{"dst": "0.0.0.0/0"}],
                                "dataDir": str(self.workdir / "cni-ipam"),
                            },
                        },
                        {"type": "portmap", "capabilities": {"portMappings": True}},
                    ],
                },
                indent=1,
            )
        )
        config = base / "config.toml"
        config.write_text(f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"
[grpc]
  address = "{self.containerd_socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base / "opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{self.images["pause"].reference}"
  # Without it every sandbox fails ("can't get final child's PID from pipe"): this machine
  # lacks CAP_SYS_RESOURCE, so runc may not lower oom_score_adj below the parent's.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni_conf}"
""")
        containerd = self._spawn("containerd", ["containerd", "--config", str(config), "--log-level", "warn"])
        self._wait(containerd, 30, lambda: self.ctr("version", check=False).returncode == 0, "did not answer")

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise NodeError(f"ctr {' '.join(args)}: {result.stderr.strip()}")
        return result

    def _import_images(self) -> None:
        for name in ("pause", "project"):
            image = self.images[name]
            self.ctr("images", "import", str(image.archive))
            listed = self.ctr("images", "ls", "-q").stdout.split()
            if image.reference not in listed:
                raise NodeError(f"importing {image.archive} gave {listed}, not {image.reference}")

    def _cgroup_root(self) -> str:
        return "/" + self.name

    def _create_cgroup_root(self) -> None:
        for hierarchy in _cgroup_hierarchies():
            path = hierarchy / self.name
            path.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    (path / knob).write_text((hierarchy / knob).read_text())

    def _start_kubelet(self, node_bin: Path) -> None:
        self._create_cgroup_root()
        kubelet_dir = self.workdir / "kubelet"
        kubelet_dir.mkdir(exist_ok=True)
        pki = self.plane.workdir / "pki"
        resolv = self.workdir / "resolv.conf"
        # Pods get no nameserver: nothing in the e2e needs DNS, and none may leave the namespace.
        resolv.write_text("")
        config = self.workdir / "kubelet-config.json"
        config.write_text(
            json.dumps(
                {
                    "apiVersion": "kubelet.config.k8s.io/v1beta1",
                    "kind": "KubeletConfiguration",
                    "cgroupDriver": "cgroupfs",
                    "cgroupRoot": self._cgroup_root(),
                    "failSwapOn": False,
                    "failCgroupV1": False,
                    "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
                    "address": NODE_ADDRESS,
                    "readOnlyPort": 0,
                    "healthzBindAddress": "127.0.0.1",
                    "authentication": {
                        "x509": {"clientCAFile": str(pki / "ca.crt")},
                        "webhook": {"enabled": True},
                        "anonymous": {"enabled": False},
                    },
                    "authorization": {"mode": "Webhook"},
                    "podLogsDirectory": str(self.workdir / "pod-logs"),
                    "resolvConf": str(resolv),
                    # This disk is shared and may be fuller than a real node's: never evict or GC the test's images.
                    "evictionHard": {
                        "memory.available": "1Mi",
                        "nodefs.available": "1%",
                        "imagefs.available": "1%",
                        "nodefs.inodesFree": "1%",
                    },
                    "imageGCHighThresholdPercent": 100,
                    "imageGCLowThresholdPercent": 99,
                    "serializeImagePulls": False,
                    "nodeStatusUpdateFrequency": "2s",
                },
                indent=1,
            )
        )
        self._spawn(
            "kubelet",
            [
                str(node_bin / "kubelet"),
                f"--config={config}",
                f"--kubeconfig={self.plane.kubeconfig}",
                f"--root-dir={kubelet_dir}",
                f"--cert-dir={kubelet_dir / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_ADDRESS}",
                "--v=1",
            ],
        )

    def _wait_ready(self, timeout: float) -> None:
        kubelet = next(p for p in self._processes if p.name == "kubelet")

        def ready() -> bool:
            result = self.kubectl(
                "get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False
            )
            return result.returncode == 0 and result.stdout.strip() == "True"

        self._wait(kubelet, timeout, ready, "did not make the node Ready")
        # The `default` ServiceAccount (kube-controller-manager) must exist before any pod is created.
        self._wait(
            kubelet,
            60,
            lambda: self.kubectl("get", "serviceaccount", "default", check=False).returncode == 0,
            "saw no default ServiceAccount",
        )

    def _wait(self, process: Process, timeout: float, ready, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for other in self._processes:
                if other.popen.poll() is not None:
                    raise NodeError(other.describe_failure(f"exited with code {other.popen.returncode}"))
            if ready():
                return
            if time.monotonic() > deadline:
                raise NodeError(process.describe_failure(f"{failure} within {timeout:.0f}s"))
            time.sleep(0.5)

    # --------------------------------------------------------------- public helpers

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(find_kubectl()), f"--kubeconfig={self.plane.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
            )
        return result

    def env(self) -> dict[str, str]:
        return self.plane.env()

    def logs(self) -> dict[str, Path]:
        return {p.name: p.log_path for p in self._processes} | (self._plane.logs() if self._plane else {})

    def host_now(self) -> HostSnapshot:
        return HostSnapshot.take(self.netns.host_path)

    # ----------------------------------------------------------------- stop

    def stop(self) -> None:
        """Stop every process by PID and put the host back as it was. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        errors: list[str] = []
        try:
            kubelet = [p for p in self._processes if p.name == "kubelet"]
            for process in kubelet:
                process.terminate(15)
            _kill_containers(self.workdir, self.name)
            for process in reversed(self._processes):
                if process.name != "kubelet":
                    process.terminate(15)
            _kill_containers(self.workdir, self.name)
            if self._plane is not None:
                self._plane.stop()
        except Exception as error:  # keep restoring the host
            errors.append(f"stopping processes: {error}")
        finally:
            with contextlib.suppress(Exception):
                self.netns.leave()
            self.netns.delete()
            errors.extend(_restore_host(self.workdir, self.name, self._created_dirs, self.host_before.sysctls))
            shutil.rmtree(self.workdir, ignore_errors=True)
            _live.discard(self)
        if errors:
            raise NodeError("; ".join(errors))

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _check(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise NodeError(f"{' '.join(argv)}: {result.stderr.strip()}")


def _cgroup_hierarchies() -> list[Path]:
    """The mounted cgroup v1 hierarchies the kubelet's cgroupfs driver uses (all but the unified one)."""
    return sorted(
        p
        for p in CGROUP_ROOT.iterdir()
        if p.is_dir() and not p.is_symlink() and p.name != "unified" and (p / "cgroup.procs").exists()
    )


def _all_hierarchies() -> list[Path]:
    """Every mounted hierarchy, the unified one too: the kubelet mirrors its pod cgroups there."""
    return sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink())


def _pids_in_cgroups(name: str) -> set[int]:
    pids: set[int] = set()
    for hierarchy in _all_hierarchies():
        root = hierarchy / name
        if root.is_dir():
            for procs in root.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    pids.update(int(p) for p in procs.read_text().split())
    return pids


def _pids_mentioning(needle: str) -> set[int]:
    """Processes whose command line contains `needle` (the node's workdir: shims, leftovers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if needle.encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
    return found


def _kill_containers(workdir: Path, name: str) -> None:
    """SIGKILL every container process (by cgroup) and every shim (by the socket it names)."""
    for _ in range(10):
        pids = _pids_in_cgroups(name) | _pids_mentioning(str(workdir / "containerd"))
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)


def _remove_cgroup_root(name: str) -> list[str]:
    errors = []
    for hierarchy in _all_hierarchies():
        root = hierarchy / name
        if not root.is_dir():
            continue
        for directory in sorted((d for d in root.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
            with contextlib.suppress(OSError):
                directory.rmdir()
        for _ in range(20):
            try:
                root.rmdir()
                break
            except OSError as error:
                last = error
                time.sleep(0.25)
        else:
            errors.append(f"cannot remove cgroup {root}: {last}")
    return errors


def _restore_host(workdir: Path, name: str, created_dirs: list[str], sysctls: dict[str, str]) -> list[str]:
    errors = _remove_cgroup_root(name)
    restore_sysctls(sysctls)
    for path in reversed(created_dirs):
        with contextlib.suppress(OSError):
            os.rmdir(path)
    return errors


def reap_stale_nodes() -> list[str]:
    """Finish off nodes whose launcher died (SIGKILL, OOM): their processes, namespace, cgroups, sysctls."""
    reaped = []
    for workdir in Path("/tmp").glob(NAME_PREFIX + "*"):
        try:
            owner = int((workdir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        name = workdir.name.rsplit("-", 1)[0]
        for pid in _pids_mentioning(str(workdir)) | _pids_in_cgroups(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        _kill_containers(workdir, name)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)
        try:
            sysctls = json.loads((workdir / SYSCTLS_FILE).read_text())
            created = json.loads((workdir / CREATED_DIRS_FILE).read_text())
        except (OSError, ValueError):
            sysctls, created = {}, []
        _restore_host(workdir, name, created, sysctls)
        shutil.rmtree(workdir, ignore_errors=True)
        reaped.append(name)
    return reaped
