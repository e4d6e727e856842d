"""Strategy compute time on random connected networks (issue 2's performance targets).

Times `propose` + normalisation (what one iteration spends in the strategy) on connected
random multigraphs of systems/transformations, with random result counts, and prints a
table against the targets for 3000/6000. Best of several repeats, on a graph built fresh
each repeat so no cached topology is reused.
"""

from __future__ import annotations

import random
import time

from strategy_operator.engine import Snapshot, plan_iteration
from strategy_operator.engine.graph import NetworkGraph
from strategy_operator.engine.strategies import build_strategy, resolve_weights

SIZES = ((200, 400), (1000, 2000), (3000, 6000))
TARGETS = {("ConnectivityStrategy", 3000): 0.05, ("RadialGrowthStrategy", 3000): 0.7}
REPEATS = 5


def random_connected_network(systems: int, transformations: int, seed: int = 0):
    """A random spanning tree plus random extra edges (parallel edges allowed), with result counts."""
    rng = random.Random(seed)
    names = [f"ChemicalSystem-s{i}-acme-bench-run1" for i in range(systems)]
    pairs = [(names[i], names[rng.randrange(i)]) for i in range(1, systems)]
    while len(pairs) < transformations:
        a, b = rng.sample(names, 2)
        pairs.append((a, b))
    edges = [(f"Transformation-t{i}-acme-bench-run1", a, b) for i, (a, b) in enumerate(pairs)]
    results = {key: rng.choice((0, 0, 0, 1, 2)) for key, _, _ in edges}
    return edges, names, results


def time_strategy(name: str, systems: int, transformations: int) -> float:
    edges, names, results = random_connected_network(systems, transformations)
    strategy = build_strategy(name, None)
    best = float("inf")
    for _ in range(REPEATS):
        graph = NetworkGraph.build(edges, names)
        start = time.perf_counter()
        resolve_weights(name, strategy.propose(graph, results), graph.keys)
        best = min(best, time.perf_counter() - start)
    return best


def snapshot_document(name: str, systems: int, transformations: int) -> dict:
    """A full-mode snapshot with two tasks per transformation (one actioned running, one waiting)."""
    edges, names, results = random_connected_network(systems, transformations)
    tasks = []
    for key, _, _ in edges:
        tasks.append(
            {"key": f"Task-r{len(tasks)}-acme-bench-run1", "transformation": key, "status": "running", "actioned": True}
        )
        tasks.append(
            {
                "key": f"Task-w{len(tasks)}-acme-bench-run1",
                "transformation": key,
                "status": "waiting",
                "actioned": False,
            }
        )
    return {
        "network": "AlchemicalNetwork-n0-acme-bench-run1",
        "strategy": {"name": name},
        "mode": "full",
        "chemicalSystems": names,
        "transformations": [{"key": k, "stateA": a, "stateB": b, "results": results[k]} for k, a, b in edges],
        "tasks": tasks,
    }


def time_iteration(name: str, systems: int, transformations: int) -> float:
    document = snapshot_document(name, systems, transformations)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        plan_iteration(Snapshot.model_validate(document))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    print(f"{'strategy':<22} {'systems':>8} {'transf.':>8} {'seconds':>9} {'target':>8}  verdict")
    for name in ("ConnectivityStrategy", "RadialGrowthStrategy"):
        for systems, transformations in SIZES:
            seconds = time_strategy(name, systems, transformations)
            target = TARGETS.get((name, systems))
            verdict = "" if target is None else ("ok" if seconds < target else "SLOW")
            shown = "" if target is None else f"< {target:g}"
            print(f"{name:<22} {systems:>8} {transformations:>8} {seconds:>9.4f} {shown:>8}  {verdict}")
    print()
    print("whole iteration (snapshot validation + plan_iteration, full mode, 2 tasks per transformation):")
    for name in ("ConnectivityStrategy", "RadialGrowthStrategy"):
        systems, transformations = SIZES[-1]
        seconds = time_iteration(name, systems, transformations)
        print(f"{name:<22} {systems:>8} {transformations:>8} {seconds:>9.4f}")


if __name__ == "__main__":
    main()
