"""Pieces of the alchemiscale client that need no server: credentials, retry, tokens, chains."""

from __future__ import annotations

import base64
import json
import random

import pytest

from strategy_operator.alchemiscale import AlchemiscaleClient, Credentials, MalformedScopedKey, RetryPolicy
from strategy_operator.alchemiscale.observation import (
    Observation,
    TaskObservation,
    TransformationObservation,
    build_snapshot,
)
from strategy_operator.alchemiscale.session import _token_expiry
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter
from strategy_operator.alchemiscale.structure import UnreadableChain, structure_from_keyed_chain

SECRET = "s3cr3t-key-do-not-print"
SCOPE = "acme-tyk2-run1"


def test_credentials_never_show_the_key() -> None:
    credentials = Credentials("alice", SECRET)
    for text in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert SECRET not in text
        assert "alice" in text


def test_credentials_from_env_and_file(tmp_path) -> None:
    assert Credentials.from_env({"ALCHEMISCALE_IDENTIFIER": "alice", "ALCHEMISCALE_KEY": SECRET}).key == SECRET
    with pytest.raises(ValueError, match="ALCHEMISCALE_KEY"):
        Credentials.from_env({"ALCHEMISCALE_IDENTIFIER": "alice"})
    yaml_file = tmp_path / "creds.yaml"
    yaml_file.write_text(f"identifier: alice\nkey: {SECRET}\n")
    assert Credentials.from_file(yaml_file) == Credentials("alice", SECRET)
    json_file = tmp_path / "creds.json"
    json_file.write_text(json.dumps({"identifier": "alice"}))
    with pytest.raises(ValueError, match="'key'"):
        Credentials.from_file(json_file)


def test_unparsable_credentials_file_does_not_quote_the_key(tmp_path) -> None:
    broken = tmp_path / "creds.yaml"
    broken.write_text(f"identifier: alice\nkey: [{SECRET}\n")
    with pytest.raises(ValueError) as caught:
        Credentials.from_file(broken)
    assert SECRET not in str(caught.value)


def test_retry_policy_backs_off_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=5.0, jitter=0.25)
    rng = random.Random(1)
    for number, nominal in enumerate([1.0, 2.0, 4.0, 5.0, 5.0]):
        for _ in range(50):
            assert nominal * 0.75 <= policy.delay(number, rng) <= nominal * 1.25
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def _jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.signature"


def test_token_expiry_is_read_from_the_payload() -> None:
    assert _token_expiry(_jwt({"sub": "alice", "exp": 1_900_000_000})) == 1_900_000_000
    assert _token_expiry(_jwt({"sub": "alice"})) is None
    assert _token_expiry("not-a-jwt") is None


async def test_client_repr_and_url_rules() -> None:
    async with AlchemiscaleClient("https://api.example.org/prefix", Credentials("alice", SECRET)) as client:
        assert SECRET not in repr(client)
        assert "alice" in repr(client)
    with pytest.raises(ValueError, match="user info"):
        AlchemiscaleClient("https://alice:pw@api.example.org", Credentials("alice", SECRET))
    with pytest.raises(ValueError, match="http"):
        AlchemiscaleClient("ftp://api.example.org", Credentials("alice", SECRET))


async def test_malformed_network_key_fails_before_any_request() -> None:
    async with AlchemiscaleClient("http://127.0.0.1:9", Credentials("alice", SECRET)) as client:
        with pytest.raises(MalformedScopedKey, match="five"):
            NetworkSnapshotter(client, "AlchemicalNetwork-abc-acme-tyk2")
        with pytest.raises(MalformedScopedKey, match="not an AlchemicalNetwork"):
            NetworkSnapshotter(client, f"Transformation-abc-{SCOPE}")
        with pytest.raises(MalformedScopedKey):
            await client.network_tasks("AlchemicalNetwork-a-b-c-d-e-f")
        assert client.requests_sent == 0


def _chain() -> list:
    return [
        ["ChemicalSystem-a", {"__qualname__": "ChemicalSystem", "components": {}}],
        ["ChemicalSystem-b", {"__qualname__": "ChemicalSystem", "components": {}}],
        ["ChemicalSystem-c", {"__qualname__": "ChemicalSystem", "components": {}}],
        [
            "Transformation-ab",
            {
                "__qualname__": "Transformation",
                "stateA": {":gufe-key:": "ChemicalSystem-a"},
                "stateB": {":gufe-key:": "ChemicalSystem-b"},
            },
        ],
        ["NonTransformation-bb", {"__qualname__": "NonTransformation", "system": {":gufe-key:": "ChemicalSystem-b"}}],
        [
            "AlchemicalNetwork-n",
            {
                "__qualname__": "AlchemicalNetwork",
                "nodes": [{":gufe-key:": k} for k in ("ChemicalSystem-a", "ChemicalSystem-b", "ChemicalSystem-c")],
                "edges": [{":gufe-key:": "Transformation-ab"}, {":gufe-key:": "NonTransformation-bb"}],
            },
        ],
    ]


def test_structure_from_keyed_chain_scopes_every_object() -> None:
    structure = structure_from_keyed_chain(f"AlchemicalNetwork-n-{SCOPE}", _chain())
    edges = {e.key: (e.state_a, e.state_b) for e in structure.transformations}
    assert edges == {
        f"Transformation-ab-{SCOPE}": (f"ChemicalSystem-a-{SCOPE}", f"ChemicalSystem-b-{SCOPE}"),
        f"NonTransformation-bb-{SCOPE}": (f"ChemicalSystem-b-{SCOPE}", f"ChemicalSystem-b-{SCOPE}"),
    }
    assert structure.chemical_systems == tuple(f"ChemicalSystem-{x}-{SCOPE}" for x in "abc")


def test_structure_rejects_chains_it_does_not_understand() -> None:
    chain = _chain()
    del chain[3]  # the edge's body is missing
    with pytest.raises(UnreadableChain, match="Transformation-ab"):
        structure_from_keyed_chain(f"AlchemicalNetwork-n-{SCOPE}", chain)
    with pytest.raises(UnreadableChain):
        structure_from_keyed_chain(f"AlchemicalNetwork-n-{SCOPE}", {"not": "a chain"})


def test_build_snapshot_is_the_plan_format_document() -> None:
    tf = f"Transformation-ab-{SCOPE}"
    observation = Observation(
        network=f"AlchemicalNetwork-n-{SCOPE}",
        chemical_systems=(f"ChemicalSystem-a-{SCOPE}", f"ChemicalSystem-b-{SCOPE}"),
        transformations=(TransformationObservation(tf, f"ChemicalSystem-a-{SCOPE}", f"ChemicalSystem-b-{SCOPE}", 2),),
        tasks=(TaskObservation(f"Task-1-{SCOPE}", tf, "running", True),),
        requests=4,
        results_read=0,
        task_counts={"running": 1},
    )
    document = build_snapshot(
        observation,
        strategy={"name": "ConnectivityStrategy", "settings": {"max_runs": 3}},
        mode="full",
        task_scaling="linear",
        max_tasks_per_transformation=5,
        state={"status": "dormant", "lastIterationResultCount": 2},
    )
    assert document == {
        "network": f"AlchemicalNetwork-n-{SCOPE}",
        "strategy": {"name": "ConnectivityStrategy", "settings": {"max_runs": 3}},
        "mode": "full",
        "taskScaling": "linear",
        "maxTasksPerTransformation": 5,
        "state": {"status": "dormant", "lastIterationResultCount": 2},
        "chemicalSystems": [f"ChemicalSystem-a-{SCOPE}", f"ChemicalSystem-b-{SCOPE}"],
        "transformations": [
            {"key": tf, "stateA": f"ChemicalSystem-a-{SCOPE}", "stateB": f"ChemicalSystem-b-{SCOPE}", "results": 2}
        ],
        "tasks": [{"key": f"Task-1-{SCOPE}", "transformation": tf, "status": "running", "actioned": True}],
    }
    assert observation.result_count == 2
    assert (
        "settings"
        not in build_snapshot(observation, strategy={"name": "ConnectivityStrategy", "settings": None})["strategy"]
    )


async def test_a_path_prefix_in_the_server_url_is_kept() -> None:
    # The official client drops it (urljoin with absolute paths); deployments behind a
    # reverse-proxy prefix need it.
    async with AlchemiscaleClient("https://example.org/alchemiscale/", Credentials("alice", SECRET)) as client:
        request = client.session._http.build_request("GET", "networks/AlchemicalNetwork-a-b-c-d/tasks")
        assert str(request.url) == "https://example.org/alchemiscale/networks/AlchemicalNetwork-a-b-c-d/tasks"
