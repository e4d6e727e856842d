"""The notebook API's client on the local control plane, in a fresh namespace per test."""

from __future__ import annotations

import pytest

from strategy_operator.python_api import NetworkStrategyClient


@pytest.fixture
def asc(control_plane, crd_installed, namespace):
    with NetworkStrategyClient(namespace=namespace, kubeconfig=str(control_plane.kubeconfig)) as client:
        yield client
