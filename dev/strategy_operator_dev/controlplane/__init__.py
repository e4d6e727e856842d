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

from strategy_operator_dev.controlplane.binaries import (
    BIN_DIR_ENV,
    K8S_VERSION,
    Binaries,
    default_cache_bin_dir,
    find_binaries,
)
from strategy_operator_dev.controlplane.errors import ControlPlaneError
from strategy_operator_dev.controlplane.network import PodNetwork
from strategy_operator_dev.controlplane.plane import ControlPlane, running_control_plane
from strategy_operator_dev.controlplane.processes import WORKDIR_PREFIX, reap_stale_workdirs

__all__ = [
    "BIN_DIR_ENV",
    "K8S_VERSION",
    "WORKDIR_PREFIX",
    "Binaries",
    "ControlPlane",
    "ControlPlaneError",
    "PodNetwork",
    "default_cache_bin_dir",
    "find_binaries",
    "reap_stale_workdirs",
    "running_control_plane",
]
