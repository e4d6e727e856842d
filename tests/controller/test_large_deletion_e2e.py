"""A resource carrying the most annotations the API server admits is still deleted, its
actioned tasks cancelled, whatever Kopf would like to store on it."""

from __future__ import annotations

import yaml

from .operator_harness import IDENTITY, KEY, actioned_by_transformation, network_strategy, wait_for

SCOPE = "acme-tyk2-run1"


def test_deletion_finishes_for_a_resource_with_more_than_128_kib_of_annotations(
    sandbox, cluster, start_operator, kubectl
):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=80)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    manifest = yaml.safe_load(network_strategy("heavy", network, sleepInterval=3600, cancelTasksOnDelete=True))
    # Just over 128 KiB of the user's own annotations (the API server admits 256 KiB in all).
    manifest["metadata"]["annotations"] = {f"example.org/note-{i}": "x" * 33_000 for i in range(4)}
    kubectl("create", "-f", "-", input=yaml.safe_dump(manifest))  # apply would copy it all into an annotation
    wait_for(lambda: cluster.status("heavy").get("iterations", 0) >= 1, timeout=60, what="the first iteration")
    assert actioned_by_transformation(sandbox.state, network)

    kubectl("delete", "networkstrategy", "heavy", "--wait=false")
    wait_for(lambda: not cluster.resource("heavy"), timeout=60, what="the deletion to finish")
    assert not actioned_by_transformation(sandbox.state, network)
