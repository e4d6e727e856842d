"""Talking to alchemiscale over REST: the client, network snapshots, plan execution.

Knows nothing of Kubernetes. Typical use, one client per server:

    async with AlchemiscaleClient(url, Credentials(identifier, key)) as client:
        snapshotter = NetworkSnapshotter(client, network_key)
        document = build_snapshot(await snapshotter.observe(), strategy={"name": "ConnectivityStrategy"})
        report = await execute_plan(client, network_key, plan)
"""

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import (
    AlchemiscaleError,
    InvalidCredentials,
    MalformedScopedKey,
    NetworkNotFound,
    OutcomeUnknown,
    RequestRejected,
    ScopeNotPermitted,
    TransientError,
)
from strategy_operator.alchemiscale.execution import ExecutionReport, execute_plan
from strategy_operator.alchemiscale.observation import Observation, build_snapshot
from strategy_operator.alchemiscale.retry import RetryPolicy
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter

__all__ = [
    "AlchemiscaleClient",
    "AlchemiscaleError",
    "Credentials",
    "ExecutionReport",
    "InvalidCredentials",
    "MalformedScopedKey",
    "NetworkNotFound",
    "NetworkSnapshotter",
    "Observation",
    "OutcomeUnknown",
    "RequestRejected",
    "RetryPolicy",
    "ScopeNotPermitted",
    "TransientError",
    "build_snapshot",
    "execute_plan",
]
