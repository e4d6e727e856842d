"""How kube-apiserver is reachable: loopback only (envtest-like, the default) or for pods."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

LOOPBACK_ARGS = (
    "--bind-address=127.0.0.1",
    # No default route is needed with an explicit address; `none` skips the Endpoints
    # reconciler that rejects loopback addresses.
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    # Without kube-controller-manager nobody creates the `default` ServiceAccount.
    "--disable-admission-plugins=ServiceAccount",
)
DEFAULT_SERVICE_CIDR = "10.0.0.0/24"


@dataclass(frozen=True)
class PodNetwork:
    """What a plane needs so that pods can use it: the address it advertises (the node's own,
    which must not be loopback) and the `kubernetes` Service's IP, both in the serving
    certificate. The lease endpoint reconciler then publishes the advertised address as the
    Service's endpoint, and ServiceAccount admission (envtest disables it) mounts tokens.
    Run the plane inside a network namespace (strategy_operator_dev.node) to keep the
    wildcard bind off the host's interfaces."""

    advertise_address: str
    service_cidr: str = DEFAULT_SERVICE_CIDR
    bind_address: str = "0.0.0.0"

    @property
    def service_ip(self) -> str:
        """The first address of the Service range, which kube-apiserver gives `kubernetes`."""
        return str(next(ipaddress.ip_network(self.service_cidr).hosts()))

    @property
    def certificate_addresses(self) -> tuple[str, ...]:
        return (self.advertise_address, self.service_ip)

    def apiserver_args(self) -> tuple[str, ...]:
        return (
            f"--bind-address={self.bind_address}",
            f"--advertise-address={self.advertise_address}",
            "--endpoint-reconciler-type=lease",
            "--kubelet-preferred-address-types=InternalIP",
        )
