"""ConnectivityStrategy and RadialGrowthStrategy: docs/engine.md, "ConnectivityStrategy" and "RadialGrowthStrategy"."""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest

from strategy_operator.engine import NetworkGraph, StrategyError, build_strategy
from strategy_operator.engine.eccentricity import eccentricities
from strategy_operator.engine.strategies import resolve_weights

from .engine_helpers import normalise, reference_connectivity, reference_radialgrowth


def weigh(name, edges, results=None, systems=(), settings=None):
    graph = NetworkGraph.build(edges, systems)
    strategy = build_strategy(name, settings)
    return resolve_weights(name, strategy.propose(graph, results or {}), graph.keys)


def raw(name, edges, results=None, systems=(), settings=None):
    graph = NetworkGraph.build(edges, systems)
    return build_strategy(name, settings).propose(graph, results or {})


def pairs(*names):
    return [(f"{a}{b}", a, b) for a, b in zip(names, names[1:])]


# ---------------------------------------------------------------------- ConnectivityStrategy


def test_benzene_star_base_weight_is_three_and_a_half():
    edges = [(f"t{i}", "hub", f"leaf{i}") for i in range(6)]
    assert set(raw("ConnectivityStrategy", edges).values()) == {3.5}


def test_example_1_path_with_one_result():
    weights = weigh("ConnectivityStrategy", pairs("A", "B", "C", "D"), {"BC": 1})
    assert weights == {"AB": 0.375, "BC": 0.25, "CD": 0.375}


def test_example_2_cycle_reaches_max_runs():
    edges = pairs("A", "B", "C", "D") + [("DA", "D", "A")]
    weights = weigh("ConnectivityStrategy", edges, {"AB": 2, "BC": 1, "CD": 0, "DA": 3})
    assert weights["DA"] is None
    assert weights["AB"] == pytest.approx(1 / 7) and weights["BC"] == pytest.approx(2 / 7)
    assert weights["CD"] == pytest.approx(4 / 7)


def test_parallel_transformations_are_weighted_individually():
    # 2.6a: upstream keeps one of A_B_1/A_B_2 depending on the hash seed.
    edges = [("A_B_1", "A", "B"), ("A_B_2", "A", "B"), ("B_C", "B", "C")]
    assert raw("ConnectivityStrategy", edges) == {"A_B_1": 2.5, "A_B_2": 2.5, "B_C": 2.0}
    weights = weigh("ConnectivityStrategy", edges)
    assert weights["A_B_1"] == weights["A_B_2"] == pytest.approx(0.357143, abs=1e-6)
    assert weights["B_C"] == pytest.approx(0.285714, abs=1e-6)


def test_parallel_transformations_use_their_own_results():
    edges = [("A_B_1", "A", "B"), ("A_B_2", "A", "B")]
    assert raw("ConnectivityStrategy", edges, {"A_B_1": 2}) == {"A_B_1": 0.5, "A_B_2": 2.0}


def test_self_loop_adds_two_to_its_system():
    edges = [("AA", "A", "A"), ("AB", "A", "B")]
    # deg(A) = 2 (loop) + 1, deg(B) = 1
    assert raw("ConnectivityStrategy", edges) == {"AA": 3.0, "AB": 2.0}


def test_isolated_systems_give_no_weights_and_change_none():
    edges = pairs("A", "B", "C")
    assert weigh("ConnectivityStrategy", edges, systems=["X", "Y"]) == weigh("ConnectivityStrategy", edges)
    assert weigh("ConnectivityStrategy", [], systems=["X"]) == {}


def test_components_are_normalised_over_the_whole_network():
    edges = pairs("A", "B") + pairs("C", "D", "E")
    weights = weigh("ConnectivityStrategy", edges)
    assert math.fsum(weights.values()) == pytest.approx(1.0)
    assert weights["AB"] == pytest.approx(1.0 / 4.0)


def test_cutoff_is_strict_and_combines_with_max_runs():
    edges = [(f"t{i}", "hub", f"leaf{i}") for i in range(6)]
    only_cutoff = raw("ConnectivityStrategy", edges, {"t0": 1, "t1": 0}, settings={"cutoff": 2, "decay_rate": 0.5})
    assert only_cutoff["t0"] is None and only_cutoff["t1"] == 3.5  # 1.75 < 2
    kept = raw("ConnectivityStrategy", edges, {"t0": 1}, settings={"cutoff": 1.75})
    assert kept["t0"] == 1.75  # raw == cutoff is kept
    both = raw("ConnectivityStrategy", edges, {"t0": 1, "t1": 2}, settings={"cutoff": 0.5, "max_runs": 2})
    assert both["t0"] == 1.75 and both["t1"] is None


def test_equal_result_counts_give_equal_weights():
    edges = pairs("A", "B", "C", "D") + [("DA", "D", "A")]
    weights = weigh("ConnectivityStrategy", edges, {k: 1 for k, _, _ in edges})
    assert len(set(weights.values())) == 1


def test_termination_under_max_runs():
    edges = pairs("A", "B", "C")
    assert set(weigh("ConnectivityStrategy", edges, {"AB": 3, "BC": 5}).values()) == {None}


# ---------------------------------------------------------------------- RadialGrowthStrategy

DIAMOND = pairs("A", "B", "C", "D") + [("DA", "D", "A"), ("AC", "A", "C")]


def test_example_3a_diamond_without_results():
    assert weigh("RadialGrowthStrategy", DIAMOND) == {k: 0.2 for k, _, _ in DIAMOND}


def test_example_3b_chord_with_a_result_is_boosted():
    assert raw("RadialGrowthStrategy", DIAMOND, {"AC": 1})["AC"] == 2.0
    weights = weigh("RadialGrowthStrategy", DIAMOND, {"AC": 1})
    assert weights["AC"] == pytest.approx(1 / 3)
    assert all(weights[k] == pytest.approx(1 / 6) for k in ("AB", "BC", "CD", "DA"))


def test_canonical_level_on_a_seven_system_path():
    # 2.6b: upstream returns L = 3 or L = 4 depending on the hash seed; the canonical L is 3.
    weights = weigh("RadialGrowthStrategy", pairs(*"ABCDEFG"))
    assert weights == {"AB": 0.0, "BC": 0.0, "CD": 0.5, "DE": 0.5, "EF": 0.0, "FG": 0.0}


def test_max_runs_finishes_and_candidacy_distance_widens():
    edges = pairs(*"ABCDEFG")
    assert raw("RadialGrowthStrategy", edges, {"CD": 3})["CD"] is None
    wide = raw("RadialGrowthStrategy", edges, settings={"candidacy_max_distance": 2, "decay_distance_rate": 0.25})
    assert wide == {"AB": 0.0, "BC": 0.25, "CD": 1.0, "DE": 1.0, "EF": 0.25, "FG": 0.0}


def test_radialgrowth_self_loops_and_isolated_systems():
    edges = [("AA", "A", "A"), ("AB", "A", "B")]
    weights = raw("RadialGrowthStrategy", edges, systems=["Z"])
    assert set(weights) == {"AA", "AB"} and all(w is not None and w > 0 for w in weights.values())
    assert raw("RadialGrowthStrategy", [("XX", "X", "X")]) == {"XX": 1.0}


# ---------------------------------------------------------------------- against the reference


def random_network(rng: random.Random, systems: int, extra: int, components: int = 1):
    names = [f"s{i}" for i in range(systems)]
    edges = []
    for i in range(1, systems):
        if i % max(1, systems // components) == 0:
            continue  # start a new component
        edges.append((f"t{len(edges)}", names[i], names[rng.randrange(i)]))
    for _ in range(extra):
        a, b = rng.choice(names), rng.choice(names)
        if rng.random() < 0.5:
            # keep components apart: only connect within the same block
            block = max(1, systems // components)
            base = (names.index(a) // block) * block
            b = names[min(systems - 1, base + rng.randrange(block))]
        edges.append((f"t{len(edges)}", a, b))
    return edges, names


@pytest.mark.parametrize("seed", range(30))
def test_both_strategies_match_the_reference(seed):
    rng = random.Random(seed)
    edges, names = random_network(rng, rng.randint(1, 40), rng.randint(0, 30), components=rng.randint(1, 3))
    results = {k: rng.choice((0, 0, 1, 2, 3)) for k, _, _ in edges}
    assert raw("ConnectivityStrategy", edges, results, names) == reference_connectivity(edges, names, results)
    assert raw("RadialGrowthStrategy", edges, results, names) == reference_radialgrowth(edges, names, results)
    live = [w for w in reference_radialgrowth(edges, names, results).values() if w is not None]
    if live:
        expected = normalise(reference_radialgrowth(edges, names, results))
        got = weigh("RadialGrowthStrategy", edges, results, names)
        assert got.keys() == expected.keys()
        for key in got:
            assert (got[key] is None) == (expected[key] is None)
            if got[key] is not None:
                assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("shape", ["random", "path", "long_path", "cycle", "star", "forest"])
def test_eccentricities_match_networkx(shape):
    rng = random.Random(7)
    if shape == "random":
        graph = nx.gnm_random_graph(300, 600, seed=3)
    elif shape == "path":
        graph = nx.path_graph(50)
    elif shape == "long_path":
        graph = nx.path_graph(600)  # deep enough for the per-source fallback
    elif shape == "cycle":
        graph = nx.cycle_graph(41)
    elif shape == "star":
        graph = nx.star_graph(30)
    else:
        graph = nx.disjoint_union_all([nx.path_graph(rng.randint(1, 9)) for _ in range(20)])
    edges = [(f"e{i}", f"n{a}", f"n{b}") for i, (a, b) in enumerate(graph.edges())]
    ng = NetworkGraph.build(edges, [f"n{v}" for v in graph.nodes()])
    expected = {}
    for nodes in nx.connected_components(graph):
        expected.update(nx.eccentricity(graph.subgraph(nodes)))
    got = dict(zip(ng.systems, ng.eccentricities().tolist()))
    assert got == {f"n{v}": e for v, e in expected.items()}


def test_eccentricities_of_an_empty_graph():
    from scipy.sparse import csr_matrix

    assert eccentricities(csr_matrix((3, 3), dtype=np.int8), np.arange(3)).tolist() == [0, 0, 0]


def test_eccentricities_with_isolated_systems_sorted_last():
    # Regression: the last connected system's final neighbour was dropped when every
    # system after it was isolated, so A-C-B with an isolated D gave ecc(B) = 0.
    ng = NetworkGraph.build([("t1", "A", "C"), ("t2", "B", "C")], ["D", "E"])
    assert dict(zip(ng.systems, ng.eccentricities().tolist())) == {"A": 2, "B": 2, "C": 1, "D": 0, "E": 0}
    assert weigh("RadialGrowthStrategy", [("t1", "A", "C"), ("t2", "B", "C")], systems=["D"]) == {"t1": 0.5, "t2": 0.5}


def test_radialgrowth_boost_beyond_the_float_range_is_a_strategy_error():
    # d = -1 on the inner edge of a-b-c-d (L = D = 3) multiplies by rate^-2 = 1e400.
    edges = [("ab", "a", "b"), ("bc", "b", "c"), ("cd", "c", "d")]
    with pytest.raises(StrategyError, match="decay_distance_rate"):
        raw("RadialGrowthStrategy", edges, {"ab": 1, "bc": 1}, settings={"decay_distance_rate": 1e-200})


def test_weights_summing_beyond_the_float_range_are_a_strategy_error():
    with pytest.raises(StrategyError, match="RadialGrowthStrategy weights"):
        resolve_weights("RadialGrowthStrategy", {"a": 1e308, "b": 1e308}, ("a", "b"))
    # Reached by RadialGrowth's inner boost: rate^-2 = 1e308 on two transformations inside L.
    edges = [("ab", "a", "b"), ("bc", "b", "c"), ("cd", "c", "d"), ("de", "d", "e")]
    with pytest.raises(StrategyError):
        weigh(
            "RadialGrowthStrategy",
            edges,
            {"ab": 1, "bc": 1, "cd": 1},
            settings={"decay_distance_rate": 1e-154, "decay_repeat_rate": 0.999},
        )
