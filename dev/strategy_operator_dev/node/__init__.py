"""A real one-node Kubernetes cluster in a network namespace, for `make test-e2e` (see launcher.py)."""

from .host import HostSnapshot
from .launcher import Image, Node, NodeError, node_binaries, node_images, reap_stale_nodes

__all__ = ["HostSnapshot", "Image", "Node", "NodeError", "node_binaries", "node_images", "reap_stale_nodes"]
