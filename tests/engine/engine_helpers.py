"""Builders for snapshot documents, and a slow, obviously-correct reference of the strategies.

The reference follows docs/engine.md ("ConnectivityStrategy", "RadialGrowthStrategy") line by line with networkx (per-component
proposal, canonical L, multigraph degrees), so the fast engine can be compared against it.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx

SCOPE = "acme-tyk2-run1"
NETWORK = f"AlchemicalNetwork-n0-{SCOPE}"
_task_numbers = itertools.count()


def system(name: str) -> str:
    return f"ChemicalSystem-{name}-{SCOPE}"


def transformation(name: str) -> str:
    return f"Transformation-{name}-{SCOPE}"


def edge(a: str, b: str, results: int = 0, name: str | None = None) -> dict[str, Any]:
    return {"key": transformation(name or f"{a}_{b}"), "stateA": system(a), "stateB": system(b), "results": results}


def task(
    transformation_name: str, status: str = "waiting", actioned: bool = False, name: str | None = None
) -> dict[str, Any]:
    token = name or f"k{next(_task_numbers)}"
    return {
        "key": f"Task-{token}-{SCOPE}",
        "transformation": transformation(transformation_name),
        "status": status,
        "actioned": actioned,
    }


def snapshot(
    edges: list[dict],
    tasks: list[dict] = (),
    *,
    strategy: str = "ConnectivityStrategy",
    settings: dict | None = None,
    **fields: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "network": NETWORK,
        "strategy": {"name": strategy} if settings is None else {"name": strategy, "settings": settings},
        "transformations": list(edges),
        "tasks": list(tasks),
    }
    doc.update(fields)
    return doc


def path(*names: str, results: dict[str, int] | None = None) -> list[dict]:
    results = results or {}
    return [edge(a, b, results.get(f"{a}_{b}", 0)) for a, b in zip(names, names[1:])]


# ------------------------------------------------------------------------------ reference


def _multigraph(edges: list[tuple[str, str, str]], systems: list[str]) -> nx.MultiGraph:
    graph = nx.MultiGraph()
    graph.add_nodes_from(systems)
    for key, a, b in edges:
        graph.add_edge(a, b, key=key)
    return graph


def reference_connectivity(edges, systems, results, *, decay_rate=0.5, cutoff=None, max_runs=3):
    graph = _multigraph(edges, systems)
    weights = {}
    for key, a, b in edges:
        n = results.get(key, 0)
        raw = decay_rate**n * (graph.degree(a) + graph.degree(b)) / 2
        if (max_runs is not None and n >= max_runs) or (cutoff is not None and raw < cutoff):
            weights[key] = None
        else:
            weights[key] = raw
    return weights


def reference_radialgrowth(
    edges, systems, results, *, max_runs=3, candidacy_max_distance=1, decay_repeat_rate=0.5, decay_distance_rate=0.5
):
    graph = _multigraph(edges, systems)
    weights = {}
    for nodes in nx.connected_components(graph):
        component = nx.Graph(graph.subgraph(nodes))
        component.remove_edges_from(list(nx.selfloop_edges(component)))
        ecc = nx.eccentricity(component)
        diameter = max(ecc.values())
        mine = [(k, a, b) for k, a, b in edges if a in nodes]
        levels = [min(ecc[a], ecc[b]) for k, a, b in mine if results.get(k, 0) == 0 and max(ecc[a], ecc[b]) < diameter]
        level = min(levels) if levels else diameter
        for k, a, b in mine:
            n = results.get(k, 0)
            if n >= max_runs:
                weights[k] = None
                continue
            d = max(ecc[a], ecc[b]) - level
            if d > candidacy_max_distance:
                f = 0.0
            elif d == 0:
                f = 1.0
            else:
                f = decay_distance_rate ** (d - 1)
            weights[k] = decay_repeat_rate**n * f
    return weights


def normalise(weights):
    live = [w for w in weights.values() if w is not None]
    total = sum(live)
    return {k: (None if w is None else w / total) for k, w in weights.items()}
