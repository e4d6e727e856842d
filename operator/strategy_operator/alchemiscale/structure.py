"""A network's immutable structure: its transformations, their end states, its systems.

Read once per network and cached forever (alchemiscale networks never change). The
cheapest source is `GET /networks/{sk}`, the whole network as a gufe keyed chain in one
request; a server that does not serve it falls back to one listing per transformation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.errors import AlchemiscaleError, NetworkNotFound, RequestRejected
from strategy_operator.scopedkey import ScopedKey

NO_SUCH_OBJECT = "No such object in database"


@dataclass(frozen=True, slots=True)
class Edge:
    """One Transformation (or NonTransformation, where `state_a == state_b`)."""

    key: str
    state_a: str
    state_b: str


@dataclass(frozen=True, slots=True)
class NetworkStructure:
    network: str
    transformations: tuple[Edge, ...]
    chemical_systems: tuple[str, ...]

    @property
    def transformation_keys(self) -> frozenset[str]:
        return frozenset(e.key for e in self.transformations)


class UnreadableChain(ValueError):
    """A keyed chain without the shape this parser understands."""


def _ref(value: Any, field: str) -> str:
    if isinstance(value, dict) and isinstance(value.get(":gufe-key:"), str):
        return value[":gufe-key:"]
    raise UnreadableChain(f"field {field!r} is not a gufe-key reference")


def structure_from_keyed_chain(network: str, chain: Any) -> NetworkStructure:
    """Read the edges and nodes of a network from its keyed chain.

    Objects of a network live in the network's scope, so a gufe key plus that scope is
    the object's scoped key.
    """
    scope = str(ScopedKey.from_str(network).scope)
    if not isinstance(chain, list) or not chain:
        raise UnreadableChain("keyed chain is not a non-empty list")
    objects: dict[str, dict[str, Any]] = {}
    for entry in chain:
        if not (
            isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict)
        ):
            raise UnreadableChain("keyed chain entries must be [gufe_key, keyed_dict] pairs")
        objects[entry[0]] = entry[1]
    root = chain[-1][1]
    if root.get("__qualname__") != "AlchemicalNetwork":
        raise UnreadableChain("the last keyed chain entry is not an AlchemicalNetwork")
    edges = []
    for index, edge_ref in enumerate(root.get("edges") or []):
        gufe_key = _ref(edge_ref, f"edges[{index}]")
        body = objects.get(gufe_key)
        if body is None:
            raise UnreadableChain(f"edge {gufe_key} is not in the keyed chain")
        if "system" in body:
            state_a = state_b = _ref(body["system"], f"{gufe_key}.system")
        else:
            state_a, state_b = (
                _ref(body.get("stateA"), f"{gufe_key}.stateA"),
                _ref(body.get("stateB"), f"{gufe_key}.stateB"),
            )
        edges.append(Edge(f"{gufe_key}-{scope}", f"{state_a}-{scope}", f"{state_b}-{scope}"))
    nodes = [f"{_ref(n, f'nodes[{i}]')}-{scope}" for i, n in enumerate(root.get("nodes") or [])]
    return NetworkStructure(network, tuple(sorted(edges, key=lambda e: e.key)), tuple(sorted(set(nodes))))


async def load_structure(client: AlchemiscaleClient, network: str, *, concurrency: int = 16) -> NetworkStructure:
    """The structure of `network`; `NetworkNotFound` when the server has no such network."""
    try:
        chain = await client.network(network)
    except RequestRejected as exc:
        if exc.status_code == 400 and isinstance(exc.detail, str) and NO_SUCH_OBJECT in exc.detail:
            raise NetworkNotFound(f"network {network} does not exist on {client.url}") from None
        if exc.status_code not in (404, 405, 422):
            raise
    else:
        try:
            return structure_from_keyed_chain(network, chain)
        except UnreadableChain:
            pass
    return await _load_structure_per_transformation(client, network, concurrency)


async def _load_structure_per_transformation(
    client: AlchemiscaleClient, network: str, concurrency: int
) -> NetworkStructure:
    transformations, systems = await asyncio.gather(
        client.network_transformations(network), client.network_chemicalsystems(network)
    )
    if not transformations and not systems and not await client.exists(network):
        raise NetworkNotFound(f"network {network} does not exist on {client.url}")
    limit = asyncio.Semaphore(concurrency)

    async def edge(key: str) -> Edge:
        async with limit:
            states = await client.transformation_chemicalsystems(key)
        if len(states) == 1:
            return Edge(key, states[0], states[0])
        if len(states) == 2:
            return Edge(key, states[0], states[1])
        raise AlchemiscaleError(f"transformation {key} has {len(states)} chemical systems, expected 1 or 2")

    edges = await asyncio.gather(*(edge(t) for t in transformations))
    return NetworkStructure(network, tuple(sorted(edges, key=lambda e: e.key)), tuple(sorted(set(systems))))
