"""What can go wrong talking to the cluster, each with its own type and a message saying what to do."""

from __future__ import annotations


class NetworkStrategyError(Exception):
    """Base of every error of the Python API."""


class ClusterUnreachable(NetworkStrategyError):
    """No kubeconfig (and not in a pod), or the API server does not answer."""


class CRDNotInstalled(NetworkStrategyError):
    """The cluster has no NetworkStrategy resource type: the operator's chart is not installed."""


class Forbidden(NetworkStrategyError):
    """The API server refused the request for this identity (RBAC)."""


class Unauthorized(NetworkStrategyError):
    """The API server did not accept the credentials of the kubeconfig."""


class NetworkStrategyNotFound(NetworkStrategyError, LookupError):
    """No NetworkStrategy in the namespace names this network."""


class AmbiguousNetworkStrategy(NetworkStrategyError):
    """More than one NetworkStrategy names the network, or a name is taken by another network."""


class InvalidNetworkStrategy(NetworkStrategyError, ValueError):
    """An argument the resource cannot hold; the message names the field."""
