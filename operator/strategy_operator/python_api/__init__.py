"""The user guide's strategy calls (`set_network_strategy` & co.) for notebooks, on the Kubernetes API.

    from strategy_operator.python_api import NetworkStrategyClient
    asc = NetworkStrategyClient(namespace="tyk2")
    asc.set_network_strategy(network_sk, strategy="ConnectivityStrategy", mode="partial")

See docs/upstream-mapping.md ("The same calls from Python").
"""

from strategy_operator.python_api.client import NetworkStrategyClient
from strategy_operator.python_api.errors import (
    AmbiguousNetworkStrategy,
    ClusterUnreachable,
    CRDNotInstalled,
    Forbidden,
    InvalidNetworkStrategy,
    NetworkStrategyError,
    NetworkStrategyNotFound,
    Unauthorized,
)
from strategy_operator.python_api.resources import NetworkStrategyResource, NetworkStrategyState
from strategy_operator.python_api.spec import resource_name, strategy_spec

__all__ = [
    "AmbiguousNetworkStrategy",
    "CRDNotInstalled",
    "ClusterUnreachable",
    "Forbidden",
    "InvalidNetworkStrategy",
    "NetworkStrategyClient",
    "NetworkStrategyError",
    "NetworkStrategyNotFound",
    "NetworkStrategyResource",
    "NetworkStrategyState",
    "Unauthorized",
    "resource_name",
    "strategy_spec",
]
