"""Real gufe objects for the adapter's tests: networks of named systems, results, stored payloads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import zstandard
from gufe import AlchemicalNetwork, ChemicalSystem, NonTransformation, SolventComponent, Transformation
from gufe.tokenization import JSON_HANDLER
from mylab.protocols import MeasureProtocol, MeasureResult

SCOPE = "acme-tyk2-run1"
PROTOCOL = MeasureProtocol(MeasureProtocol.default_settings())


def system(name: str) -> ChemicalSystem:
    return ChemicalSystem({"solvent": SolventComponent()}, name=name)


def network(edges: Iterable[tuple[str, str] | tuple[str, str, str]], isolated: Iterable[str] = ()) -> AlchemicalNetwork:
    """`edges` are (stateA, stateB[, name]); stateA == stateB is a NonTransformation."""
    systems: dict[str, ChemicalSystem] = {}

    def get(name: str) -> ChemicalSystem:
        return systems.setdefault(name, system(name))

    made = []
    for i, edge in enumerate(edges):
        a, b = edge[0], edge[1]
        name = edge[2] if len(edge) > 2 else f"{a}_{b}_{i}"
        if a == b:
            made.append(NonTransformation(get(a), protocol=PROTOCOL, name=name))
        else:
            made.append(Transformation(get(a), get(b), protocol=PROTOCOL, name=name))
    nodes = [get(name) for name in isolated]
    return AlchemicalNetwork(edges=made, nodes=[*systems.values(), *nodes])


def scoped(obj, scope: str = SCOPE) -> str:  # noqa: ANN001
    return f"{obj.key}-{scope}"


def endpoints(transformation) -> tuple:  # noqa: ANN001
    if isinstance(transformation, NonTransformation):
        return transformation.system, transformation.system
    return transformation.stateA, transformation.stateB


def snapshot(net: AlchemicalNetwork, counts: Mapping[str, int], strategy: dict, scope: str = SCOPE, **fields) -> dict:
    """The engine's snapshot document for `net`; `counts` by transformation gufe key."""
    return {
        "network": scoped(net, scope),
        "strategy": strategy,
        "chemicalSystems": [scoped(s, scope) for s in net.nodes],
        "transformations": [
            {
                "key": scoped(t, scope),
                "stateA": scoped(endpoints(t)[0], scope),
                "stateB": scoped(endpoints(t)[1], scope),
                "results": counts.get(t.key, 0),
            }
            for t in net.edges
        ],
        **fields,
    }


def counted_results(net: AlchemicalNetwork, counts: Mapping[str, int]) -> dict:
    """What upstream's Strategist passes for these counts: a ProtocolResult per transformation with results, else None."""
    return {
        t.key: (
            MeasureResult(n_protocol_dag_results=counts[t.key], estimates=[], uncertainties=[])
            if counts.get(t.key)
            else None
        )
        for t in net.edges
    }


def stored_payload(obj) -> bytes:  # noqa: ANN001
    """How alchemiscale stores a ProtocolDAGResult: its keyed chain as JSON, zstd-compressed."""
    text = json.dumps(obj.to_keyed_chain(), cls=JSON_HANDLER.encoder)
    return zstandard.ZstdCompressor().compress(text.encode("utf-8"))


def keyed_chain_document(net: AlchemicalNetwork) -> list:
    """The network's keyed chain as JSON data, as the server stores and serves it."""
    return json.loads(json.dumps(net.to_keyed_chain(), cls=JSON_HANDLER.encoder))
