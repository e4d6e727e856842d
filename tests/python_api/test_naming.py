"""Resource names derived from network keys: deterministic, distinct, valid DNS labels."""

from __future__ import annotations

import re

import pytest

from strategy_operator.python_api import InvalidNetworkStrategy, resource_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize(
    "network",
    [
        "AlchemicalNetwork-0a1b2c3d-acme-tyk2-run1",
        "AlchemicalNetwork-0a1b2c3d-Acme_Labs-TYK2__campaign-Run_1_",
        "AlchemicalNetwork-ff" + "0" * 30 + "-o" + "x" * 80 + "-c" + "y" * 80 + "-p" + "z" * 80,
    ],
)
def test_names_are_valid_dns_labels_and_deterministic(network):
    name = resource_name(network)
    assert DNS_LABEL.fullmatch(name), name
    assert resource_name(network) == name


def test_the_readable_part_is_the_scope_and_the_suffix_tells_networks_apart():
    first = resource_name("AlchemicalNetwork-0a1b2c3d-acme-tyk2-run1")
    assert first.startswith("acme-tyk2-run1-") and len(first) == len("acme-tyk2-run1-") + 12
    assert resource_name("AlchemicalNetwork-0a1b2c3e-acme-tyk2-run1") != first
    assert resource_name("AlchemicalNetwork-0a1b2c3d-acme-tyk2-run2") != first


def test_a_key_that_is_not_a_network_is_refused():
    with pytest.raises(InvalidNetworkStrategy, match="network: "):
        resource_name("Transformation-0a1b2c3d-acme-tyk2-run1")
