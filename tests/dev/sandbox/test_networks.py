"""Network documents and generators: validation, content-addressed deterministic keys."""

from __future__ import annotations

import json

import pytest

from strategy_operator.planning.networks import (
    NetworkDefinitionError,
    generate_network,
    load_network_file,
    parse_network,
)
from strategy_operator_dev.sandbox.networks import sample_networks
from strategy_operator_dev.sandbox.state import SandboxState


def test_sample_files_load_and_share_a_transformation():
    samples = sample_networks()
    assert set(samples) >= {"tyk2-star", "tyk2-path", "cdk8-cycle"}
    state = SandboxState()
    star = state.add_network(load_network_file(samples["tyk2-star"]))
    path = state.add_network(load_network_file(samples["tyk2-path"]))
    cdk8 = state.add_network(load_network_file(samples["cdk8-cycle"]))
    assert len(state.transformations(star)) == 6 and len(state.transformations(cdk8)) == 7
    assert len(set(state.transformations(star)) & set(state.transformations(path))) == 1
    kinds = sorted(state.transformation_records[t].qualname for t in state.transformations(star))
    assert kinds.count("NonTransformation") == 1


def test_json_files_work_and_scope_can_be_overridden(tmp_path):
    doc = {"name": "j", "systems": ["a", "b"], "transformations": [{"stateA": "a", "stateB": "b"}]}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(doc))
    definition = load_network_file(path, scope="org-camp-proj")
    assert definition.scoped_key.endswith("-org-camp-proj")
    with pytest.raises(NetworkDefinitionError, match="scope: required"):
        load_network_file(path)


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"scope": "a-b-c", "systems": []}, "systems: expected a non-empty list"),
        ({"scope": "a-b-*", "systems": ["x"]}, "scope: objects live in a specific scope"),
        ({"scope": "a-b-c", "systems": ["x", "x"]}, r"systems\[1\]: duplicate"),
        (
            {"scope": "a-b-c", "systems": ["x"], "transformations": [{"stateA": "x", "stateB": "y"}]},
            r"transformations\[0\].stateB: 'y'",
        ),
        ({"scope": "a-b-c", "systems": ["x"], "transformations": [{"stateA": "x"}]}, r"transformations\[0\]: needs"),
        ({"scope": "a-b-c", "systems": ["x"], "edges": []}, "unknown field"),
        ({"scope": "a-b-c", "systems": ["x"], "state": "gone"}, "state: 'gone'"),
        ({"scope": "1-b-c", "systems": ["x"]}, "scope: "),
    ],
)
def test_bad_documents_name_the_field(doc, message):
    with pytest.raises(NetworkDefinitionError, match=message):
        parse_network(doc)


def test_keys_are_md5_hex_and_deterministic():
    a = generate_network("random", 20, scope="acme-tyk2-run1", seed=3)
    b = generate_network("random", 20, scope="acme-tyk2-run1", seed=3)
    c = generate_network("random", 20, scope="acme-tyk2-run1", seed=4)
    assert a.scoped_key == b.scoped_key != c.scoped_key
    token = a.gufe_key.split("-")[1]
    assert len(token) == 32 and all(ch in "0123456789abcdef" for ch in token)


@pytest.mark.parametrize("shape, n, edges", [("star", 6, 5), ("path", 6, 5), ("random", 6, 9)])
def test_generated_shapes_are_connected(shape, n, edges):
    definition = generate_network(shape, n, seed=1)
    assert len(definition.systems) == n and len(definition.transformations) == edges
    adjacency: dict[str, set[str]] = {}
    for t in definition.transformations:
        a, b = t.systems
        adjacency.setdefault(a, set()).add(b)
        adjacency.setdefault(b, set()).add(a)
    seen, stack = set(), [definition.systems[0].name]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(adjacency.get(node, ()))
    assert len(seen) == n


def test_random_network_with_a_given_transformation_count():
    assert len(generate_network("random", 100, seed=0, transformations=1000).transformations) == 1000
    with pytest.raises(NetworkDefinitionError, match="transformations"):
        generate_network("random", 5, transformations=3)
    with pytest.raises(NetworkDefinitionError, match="shape"):
        generate_network("ring", 5)
