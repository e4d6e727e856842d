"""Real stratocaster through the adapter against the built-in strategies, and against upstream itself.

For random networks where upstream is deterministic (strategy-semantics.md 2.6: no parallel
transformations; for RadialGrowth only networks whose lowest complete eccentricity does not
depend on edge order), the adapter's plan (stratocaster's `propose` on real gufe objects,
then the engine's plan) must equal the built-in's plan on the same snapshot, and its
normalised weights must equal upstream's own `propose(...).resolve()`.
"""

from __future__ import annotations

import math
import random
from collections import deque

import pytest
from stratocaster.strategies import ConnectivityStrategy, RadialGrowthStrategy

from strategy_operator.engine import Snapshot, plan_iteration
from strategy_operator.stratocaster.adapter import GufeWeights
from strategy_operator.stratocaster.loading import AllowedStrategies, build_strategy

from .gufe_networks import counted_results, network, scoped, snapshot

NETWORKS = 240
STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
CONNECTIVITY_SETTINGS = [
    None,
    {"max_runs": 2},
    {"decay_rate": 0.25, "cutoff": 0.5},
    {"decay_rate": 0.9, "max_runs": 4, "cutoff": 1.0},
]
RADIALGROWTH_SETTINGS = [
    None,
    {"max_runs": 2, "candidacy_max_distance": 2},
    {"decay_repeat_rate": 0.25, "decay_distance_rate": 0.75},
    {"max_runs": 5, "candidacy_max_distance": 3, "decay_distance_rate": 0.1},
]


def _random_edges(rng: random.Random) -> tuple[list[tuple[str, str]], list[str]]:
    """A multigraph without parallel transformations: self-loops, antiparallel pairs, several components."""
    names = [f"s{i:02d}" for i in range(rng.randint(1, 11))]
    seen: set[tuple[str, str]] = set()
    edges = []
    if rng.random() < 0.5:  # a chain: deep eccentricity shells
        chain = names[: rng.randint(1, len(names))]
        for a, b in zip(chain, chain[1:], strict=False):
            seen.add((a, b))
            edges.append((a, b))
    for _ in range(rng.randint(0, 14)):
        pair = (rng.choice(names), rng.choice(names))
        if pair in seen:
            continue
        seen.add(pair)
        edges.append(pair)
    used = {s for edge in edges for s in edge}
    return edges, [n for n in names if n not in used]


def _components(edges, systems):
    neighbours = {s: set() for s in systems}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen, out = set(), []
    for start in systems:
        if start in seen:
            continue
        part, queue = {start}, deque([start])
        while queue:
            for other in neighbours[queue.popleft()]:
                if other not in part:
                    part.add(other)
                    queue.append(other)
        seen |= part
        out.append(part)
    return out


def _eccentricity(part, edges):
    neighbours = {s: set() for s in part}
    for a, b in edges:
        if a in part and a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    ecc = {}
    for source in part:
        distance, queue = {source: 0}, deque([source])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        ecc[source] = max(distance.values())
    return ecc


def radialgrowth_order_independent(edges, systems, counts_by_edge) -> bool:
    """Whether upstream's lowest complete eccentricity is the same for every edge order, per component.

    Upstream walks the edges, setting L = lo(t) for each result-less t with hi(t) < L (from L = D).
    It can end at lo(e) for a qualifying e (hi(e) < D) exactly when no qualifying f has
    hi(f) < lo(e); the outcome is order-independent when only one such value exists.
    """
    for part in _components(edges, systems):
        part_edges = [(i, a, b) for i, (a, b) in enumerate(edges) if a in part]
        if not part_edges:
            continue
        ecc = _eccentricity(part, [(a, b) for _, a, b in part_edges])
        top = max(ecc.values())
        qualifying = [
            (min(ecc[a], ecc[b]), max(ecc[a], ecc[b]))
            for i, a, b in part_edges
            if counts_by_edge[i] == 0 and max(ecc[a], ecc[b]) < top
        ]
        finals = {lo for lo, _ in qualifying if not any(hi < lo for _, hi in qualifying)}
        if len(finals) > 1:
            return False
    return True


def _case(rng: random.Random, strategy: str):
    while True:
        edges, isolated = _random_edges(rng)
        counts_by_edge = [rng.choice([0, 0, 0, 1, 2, 3, 5]) for _ in edges]
        systems = sorted({s for e in edges for s in e} | set(isolated))
        if strategy == "RadialGrowthStrategy" and not radialgrowth_order_independent(edges, systems, counts_by_edge):
            continue
        net = network(edges, isolated=isolated)
        by_name = {t.name: t for t in net.edges}
        counts = {
            by_name[f"{a}_{b}_{i}"].key: n for i, ((a, b), n) in enumerate(zip(edges, counts_by_edge, strict=True))
        }
        return net, counts


def _tasks(rng: random.Random, net) -> list[dict]:
    tasks = []
    for t in sorted(net.edges, key=lambda t: t.key):
        for _ in range(rng.randint(0, 3)):
            status = rng.choice(STATUSES + ("waiting", "running"))
            actioned = status in ("waiting", "running", "error") and rng.random() < 0.5
            tasks.append(
                {
                    "key": f"Task-{rng.getrandbits(128):032x}-acme-tyk2-run1",
                    "transformation": scoped(t),
                    "status": status,
                    "actioned": actioned,
                }
            )
    return tasks


def _adapter_weights(path, settings, net, counts):
    gufe_strategy = build_strategy(path, settings, AllowedStrategies())
    return GufeWeights(path, gufe_strategy, net, counted_results(net, counts), "acme-tyk2-run1")


@pytest.mark.parametrize("name", ["ConnectivityStrategy", "RadialGrowthStrategy"])
def test_stratocaster_through_the_adapter_plans_as_the_builtin(name):
    rng = random.Random(f"stratocaster-differential-{name}")
    upstream_class = {"ConnectivityStrategy": ConnectivityStrategy, "RadialGrowthStrategy": RadialGrowthStrategy}[name]
    choices = CONNECTIVITY_SETTINGS if name == "ConnectivityStrategy" else RADIALGROWTH_SETTINGS
    path = f"stratocaster.strategies.{name}"
    compared = dormant = 0
    for index in range(NETWORKS):
        settings = choices[index % len(choices)]
        net, counts = _case(rng, name)
        fields = {
            "mode": rng.choice(["partial", "full"]),
            "taskScaling": rng.choice(["linear", "exponential"]),
            "maxTasksPerTransformation": rng.randint(1, 8),
            "tasks": _tasks(rng, net),
        }
        builtin = {"name": name, **({"settings": settings} if settings is not None else {})}
        expected = plan_iteration(Snapshot.model_validate(snapshot(net, counts, builtin, **fields))).to_json()
        source = _adapter_weights(path, settings, net, counts)
        actual = plan_iteration(
            Snapshot.model_validate(snapshot(net, counts, {"name": path}, **fields)), source
        ).to_json()

        for field in ("ran", "status", "resultCount", "targets", "action", "create", "cancel", "summary"):
            assert actual.get(field) == expected.get(field), (index, field)
        assert set(actual["weights"]) == set(expected["weights"]), index
        for key, weight in expected["weights"].items():
            if weight is None:
                assert actual["weights"][key] is None, (index, key)
            else:
                assert math.isclose(actual["weights"][key], weight, rel_tol=1e-12, abs_tol=1e-15), (index, key)

        # ... and the adapter's weights are upstream's own resolve() of the same proposal.
        upstream_settings = (
            upstream_class.default_settings() if settings is None else upstream_class._settings_cls(**settings)
        )
        upstream = upstream_class(upstream_settings).propose(net, counted_results(net, counts))
        live = [w for w in upstream.weights.values() if w is not None]
        if live:
            resolved = upstream.resolve()
            for t in net.edges:
                theirs, ours = resolved[t.key], source.propose(None, {})[scoped(t)]  # type: ignore[arg-type]
                assert (theirs is None) == (ours is None), (index, t.name)
                if ours is not None:
                    assert math.isclose(ours / sum(live), theirs, rel_tol=1e-12, abs_tol=1e-15), (index, t.name)
        compared += 1
        dormant += actual["status"] == "dormant"
    assert compared == NETWORKS and 0 < dormant < NETWORKS


# strategy-semantics.md section 4, through the adapter with real stratocaster (M = 6).
def _names(net):
    return {t.name: scoped(t) for t in net.edges}


def _plan(net, counts_by_name, path, settings=None, **fields):
    names = {t.name: t for t in net.edges}
    counts = {names[n].key: c for n, c in counts_by_name.items()}
    source = _adapter_weights(path, settings, net, counts)
    doc = snapshot(net, counts, {"name": path}, maxTasksPerTransformation=6, **fields)
    return plan_iteration(Snapshot.model_validate(doc), source).to_json()


def test_stratocaster_worked_example_1_path_connectivity():
    net = network([("A", "B", "A_B"), ("B", "C", "B_C"), ("C", "D", "C_D")])
    key = _names(net)
    plan = _plan(net, {"B_C": 1}, "stratocaster.strategies.ConnectivityStrategy", taskScaling="linear")
    assert plan["weights"] == {key["A_B"]: 0.375, key["B_C"]: 0.25, key["C_D"]: 0.375}
    assert plan["targets"] == {key["A_B"]: 3, key["B_C"]: 2, key["C_D"]: 3}
    plan = _plan(net, {"B_C": 1}, "stratocaster.strategies.ConnectivityStrategy")
    assert plan["targets"] == {key["A_B"]: 2, key["B_C"]: 1, key["C_D"]: 2}


def test_stratocaster_worked_example_2_cycle_connectivity():
    net = network([("A", "B", "A_B"), ("B", "C", "B_C"), ("C", "D", "C_D"), ("D", "A", "D_A")])
    key = _names(net)
    counts = {"A_B": 2, "B_C": 1, "D_A": 3}
    plan = _plan(net, counts, "stratocaster.strategies.ConnectivityStrategy", taskScaling="linear")
    assert plan["targets"] == {key["A_B"]: 1, key["B_C"]: 2, key["C_D"]: 4, key["D_A"]: 0}
    assert plan["weights"][key["D_A"]] is None
    plan = _plan(net, counts, "stratocaster.strategies.ConnectivityStrategy")
    assert plan["targets"] == {key["A_B"]: 1, key["B_C"]: 1, key["C_D"]: 3, key["D_A"]: 0}


def test_stratocaster_worked_example_3_diamond_radialgrowth():
    net = network([("A", "B", "A_B"), ("B", "C", "B_C"), ("C", "D", "C_D"), ("D", "A", "D_A"), ("A", "C", "A_C")])
    key = _names(net)
    plan = _plan(net, {}, "stratocaster.strategies.RadialGrowthStrategy", taskScaling="linear")
    assert set(plan["weights"].values()) == {0.2} and set(plan["targets"].values()) == {2}
    plan = _plan(net, {"A_C": 1}, "stratocaster.strategies.RadialGrowthStrategy", taskScaling="linear")
    assert plan["weights"][key["A_C"]] == pytest.approx(1 / 3) and plan["weights"][key["A_B"]] == pytest.approx(1 / 6)
    assert plan["targets"] == {key["A_C"]: 3, key["A_B"]: 2, key["B_C"]: 2, key["C_D"]: 2, key["D_A"]: 2}
    plan = _plan(net, {"A_C": 1}, "stratocaster.strategies.RadialGrowthStrategy")
    assert set(plan["targets"].values()) == {1}


def test_stratocaster_every_weight_none_goes_dormant_and_full_mode_cancels_everything():
    net = network([("A", "B", "A_B"), ("B", "C", "B_C")])
    key = _names(net)
    tasks = [
        {"key": f"Task-{i:032x}-acme-tyk2-run1", "transformation": key["A_B"], "status": s, "actioned": True}
        for i, s in enumerate(["waiting", "running", "error"])
    ]
    plan = _plan(net, {"A_B": 3, "B_C": 3}, "stratocaster.strategies.ConnectivityStrategy", mode="full", tasks=tasks)
    assert plan["status"] == "dormant" and plan["cancel"] == sorted(t["key"] for t in tasks)
