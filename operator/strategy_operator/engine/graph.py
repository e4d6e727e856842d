"""A light network graph: systems as nodes, transformations as keyed edges of a multigraph.

Built once per iteration from plain keys, in a canonical (sorted) order so that nothing
downstream depends on the order the snapshot listed things in. Topology queries that are
costly in pure Python (weak components, eccentricities) run in scipy's compiled graph code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from strategy_operator.engine.eccentricity import eccentricities


@dataclass(frozen=True, eq=False)
class NetworkGraph:
    systems: tuple[str, ...]
    keys: tuple[str, ...]
    source: np.ndarray
    target: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, edges: Iterable[tuple[str, str, str]], systems: Iterable[str] = ()) -> NetworkGraph:
        """`edges` are (transformation key, stateA, stateB); `systems` adds isolated ones."""
        ordered = sorted(edges)
        names = sorted({*systems, *(e[1] for e in ordered), *(e[2] for e in ordered)})
        index = {name: i for i, name in enumerate(names)}
        source = np.fromiter((index[e[1]] for e in ordered), dtype=np.int64, count=len(ordered))
        target = np.fromiter((index[e[2]] for e in ordered), dtype=np.int64, count=len(ordered))
        return cls(tuple(names), tuple(e[0] for e in ordered), source, target)

    @property
    def system_count(self) -> int:
        return len(self.systems)

    def degrees(self) -> np.ndarray:
        """Degree of every system in the multigraph: parallel edges count once each, a self-loop twice."""
        if "degrees" not in self._cache:
            counts = np.bincount(self.source, minlength=self.system_count)
            counts += np.bincount(self.target, minlength=self.system_count)
            self._cache["degrees"] = counts
        return self._cache["degrees"]

    def _simple_undirected(self) -> csr_matrix:
        if "adjacency" not in self._cache:
            n = self.system_count
            keep = self.source != self.target
            rows, cols = self.source[keep], self.target[keep]
            data = np.ones(rows.size, dtype=np.int8)
            matrix = coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
            matrix = ((matrix + matrix.T) > 0).astype(np.int8)
            self._cache["adjacency"] = matrix
        return self._cache["adjacency"]

    def component_labels(self) -> np.ndarray:
        """Weakly connected component of every system (direction ignored; isolated systems alone)."""
        if "components" not in self._cache:
            if self.system_count == 0:
                self._cache["components"] = np.zeros(0, dtype=np.int64)
            else:
                _, labels = connected_components(self._simple_undirected(), directed=False)
                self._cache["components"] = labels
        return self._cache["components"]

    def eccentricities(self) -> np.ndarray:
        """Longest shortest-path hop count from every system within its own component."""
        if "eccentricities" not in self._cache:
            self._cache["eccentricities"] = eccentricities(self._simple_undirected(), self.component_labels())
        return self._cache["eccentricities"]
