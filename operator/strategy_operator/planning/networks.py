"""Network documents: an AlchemicalNetwork written as YAML/JSON, or generated.

One format for `strategy-operator simulate` (which plans on a network before it exists on
any server) and for the dev sandbox (which serves it over alchemiscale's API, and keeps its
sample files beside it), so both derive the same scoped keys from the same file.

A definition is content-addressed like gufe objects are: every key token is the MD5 hex of
a canonical JSON rendering of the object's content, so the same file (or the same
generator arguments) always yields the same scoped keys, and a transformation that appears
in two networks of one scope is one object, exactly as on a real server.

Document format (see docs/sandbox.md)::

    name: tyk2-demo            # network name (optional, default "network")
    scope: acme-tyk2-run1      # specific scope (optional when given on load)
    state: active              # NetworkMark state (optional, default active)
    systems:                   # chemical systems: names, or {name, components}
      - lig_a
      - {name: lig_b, components: {ligand: lig_b, protein: tyk2}}
    transformations:           # edges; stateA == stateB (or `system:`) is a NonTransformation
      - {stateA: lig_a, stateB: lig_b}
      - {stateA: lig_b, stateB: lig_b, name: lig_b-solvation}
      - {system: lig_a}
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from strategy_operator.scopedkey import InvalidScopedKey, Scope

NETWORK_STATES = ("active", "inactive", "invalid", "deleted")
SHAPES = ("star", "path", "random")


class NetworkDefinitionError(ValueError):
    """A network document or generator argument that cannot describe a network."""


def content_token(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SystemDefinition:
    name: str
    components: dict[str, Any]

    @property
    def gufe_key(self) -> str:
        token = content_token({"__qualname__": "ChemicalSystem", "name": self.name, "components": self.components})
        return f"ChemicalSystem-{token}"


@dataclass(frozen=True, slots=True)
class TransformationDefinition:
    """An edge. `systems` is (stateA, stateB) for a Transformation, (system,) for a NonTransformation."""

    qualname: str
    name: str
    systems: tuple[str, ...]
    system_keys: tuple[str, ...]
    protocol: dict[str, Any]

    @property
    def gufe_key(self) -> str:
        fields = ("stateA", "stateB") if self.qualname == "Transformation" else ("system",)
        content: dict[str, Any] = {"__qualname__": self.qualname, "name": self.name, "protocol": self.protocol}
        content.update({field: {":gufe-key:": key} for field, key in zip(fields, self.system_keys, strict=True)})
        return f"{self.qualname}-{content_token(content)}"


@dataclass(frozen=True, slots=True)
class NetworkDefinition:
    name: str
    scope: Scope
    state: str
    systems: tuple[SystemDefinition, ...]
    transformations: tuple[TransformationDefinition, ...]

    @property
    def gufe_key(self) -> str:
        token = content_token(
            {
                "__qualname__": "AlchemicalNetwork",
                "name": self.name,
                "nodes": sorted(s.gufe_key for s in self.systems),
                "edges": sorted(t.gufe_key for t in self.transformations),
            }
        )
        return f"AlchemicalNetwork-{token}"

    @property
    def scoped_key(self) -> str:
        return f"{self.gufe_key}-{self.scope}"


def _specific_scope(text: Any, field: str) -> Scope:
    if not isinstance(text, str):
        raise NetworkDefinitionError(f"{field}: expected a scope string like 'org-campaign-project'")
    try:
        scope = Scope.from_str(text)
    except InvalidScopedKey as exc:
        raise NetworkDefinitionError(f"{field}: {exc}") from None
    if not scope.specific:
        raise NetworkDefinitionError(f"{field}: objects live in a specific scope; {text!r} has a wildcard")
    return scope


def parse_network(doc: Any, scope: str | None = None) -> NetworkDefinition:
    """Validate a network document; `scope` overrides the document's own."""
    if not isinstance(doc, dict):
        raise NetworkDefinitionError("network document: expected a mapping with systems and transformations")
    unknown = set(doc) - {"name", "scope", "state", "systems", "transformations"}
    if unknown:
        raise NetworkDefinitionError(f"network document: unknown field(s) {sorted(unknown)}")
    name = doc.get("name", "network")
    if not isinstance(name, str) or not name:
        raise NetworkDefinitionError("name: expected a non-empty string")
    if scope is None and "scope" not in doc:
        raise NetworkDefinitionError("scope: required (in the document or when loading)")
    parsed_scope = _specific_scope(scope if scope is not None else doc["scope"], "scope")
    state = doc.get("state", "active")
    if state not in NETWORK_STATES:
        raise NetworkDefinitionError(f"state: {state!r} is not one of {list(NETWORK_STATES)}")

    systems = _parse_systems(doc.get("systems"))
    edges = _parse_transformations(doc.get("transformations", []), systems)
    return NetworkDefinition(name, parsed_scope, state, tuple(systems.values()), tuple(edges.values()))


def _parse_systems(raw_systems: Any) -> dict[str, SystemDefinition]:
    if not isinstance(raw_systems, list) or not raw_systems:
        raise NetworkDefinitionError("systems: expected a non-empty list")
    systems: dict[str, SystemDefinition] = {}
    for i, entry in enumerate(raw_systems):
        where = f"systems[{i}]"
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise NetworkDefinitionError(f"{where}: expected a name or a mapping with a 'name'")
        if set(entry) - {"name", "components"}:
            raise NetworkDefinitionError(f"{where}: unknown field(s) {sorted(set(entry) - {'name', 'components'})}")
        components = entry.get("components", {})
        if not isinstance(components, dict):
            raise NetworkDefinitionError(f"{where}.components: expected a mapping")
        if entry["name"] in systems:
            raise NetworkDefinitionError(f"{where}: duplicate system name {entry['name']!r}")
        systems[entry["name"]] = SystemDefinition(entry["name"], components)
    return systems


def _parse_transformations(raw_edges: Any, systems: dict[str, SystemDefinition]) -> dict[str, TransformationDefinition]:
    if not isinstance(raw_edges, list):
        raise NetworkDefinitionError("transformations: expected a list")
    edges: dict[str, TransformationDefinition] = {}
    for i, entry in enumerate(raw_edges):
        where = f"transformations[{i}]"
        if not isinstance(entry, dict):
            raise NetworkDefinitionError(f"{where}: expected a mapping with stateA/stateB or system")
        extra = set(entry) - {"stateA", "stateB", "system", "name", "protocol"}
        if extra:
            raise NetworkDefinitionError(f"{where}: unknown field(s) {sorted(extra)}")
        ends: tuple[str, ...]
        if "system" in entry:
            if "stateA" in entry or "stateB" in entry:
                raise NetworkDefinitionError(f"{where}: give either 'system' or 'stateA'/'stateB', not both")
            ends = (entry["system"],)
        elif "stateA" in entry and "stateB" in entry:
            ends = (entry["stateA"], entry["stateB"])
            if ends[0] == ends[1]:
                ends = (ends[0],)  # a self-loop is a NonTransformation
        else:
            raise NetworkDefinitionError(f"{where}: needs 'stateA' and 'stateB' (or 'system')")
        for field, end in zip(("stateA", "stateB") if len(ends) == 2 else ("system",), ends, strict=True):
            if end not in systems:
                raise NetworkDefinitionError(f"{where}.{field}: {end!r} is not a system listed under 'systems'")
        qualname = "Transformation" if len(ends) == 2 else "NonTransformation"
        edge_name = entry.get("name", "-".join(ends))
        if not isinstance(edge_name, str):
            raise NetworkDefinitionError(f"{where}.name: expected a string")
        protocol = entry.get("protocol", {})
        if not isinstance(protocol, dict):
            raise NetworkDefinitionError(f"{where}.protocol: expected a mapping")
        edge = TransformationDefinition(
            qualname, edge_name, tuple(ends), tuple(systems[e].gufe_key for e in ends), protocol
        )
        edges.setdefault(edge.gufe_key, edge)  # identical edges are one object, as in gufe
    return edges


def load_network_file(path: str | Path, scope: str | None = None) -> NetworkDefinition:
    """Read a network from a .json/.yaml/.yml file (YAML is a superset of JSON)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NetworkDefinitionError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise NetworkDefinitionError(f"{path}: not valid JSON/YAML: {exc}") from None
    try:
        return parse_network(doc, scope=scope)
    except NetworkDefinitionError as exc:
        raise NetworkDefinitionError(f"{path}: {exc}") from None


def generate_network(
    shape: str,
    systems: int,
    scope: str = "acme-tyk2-run1",
    seed: int = 0,
    *,
    transformations: int | None = None,
    name: str | None = None,
) -> NetworkDefinition:
    """A connected network of `systems` ligands: a star around system 0, a path, or a random
    spanning tree plus extra random edges (`transformations` in total, default ~1.5 x systems).

    The seed enters the systems' content, so different seeds give different keys and the same
    seed always gives the same ones.
    """
    if shape not in SHAPES:
        raise NetworkDefinitionError(f"shape: {shape!r} is not one of {list(SHAPES)}")
    if not isinstance(systems, int) or systems < 2:
        raise NetworkDefinitionError(f"systems: need at least 2 systems, got {systems!r}")
    rng = random.Random(seed)
    names = [f"ligand_{i:04d}" for i in range(systems)]
    pairs: list[tuple[int, int]]
    if shape == "star":
        pairs = [(0, i) for i in range(1, systems)]
    elif shape == "path":
        pairs = [(i, i + 1) for i in range(systems - 1)]
    else:
        max_edges = systems * (systems - 1) // 2
        wanted = transformations if transformations is not None else min(max_edges, (3 * systems) // 2)
        if not (systems - 1 <= wanted <= max_edges):
            raise NetworkDefinitionError(
                f"transformations: a connected network of {systems} systems has between "
                f"{systems - 1} and {max_edges} transformations, got {wanted}"
            )
        order = list(range(systems))
        rng.shuffle(order)
        chosen = {tuple(sorted((order[i], order[rng.randrange(i)]))) for i in range(1, systems)}
        while len(chosen) < wanted:
            a, b = rng.sample(range(systems), 2)
            chosen.add((min(a, b), max(a, b)))
        pairs = sorted(chosen)  # type: ignore[arg-type]
    if transformations is not None and shape != "random" and transformations != len(pairs):
        raise NetworkDefinitionError(
            f"transformations: a {shape} of {systems} systems has {len(pairs)} transformations"
        )
    doc = {
        "name": name or f"{shape}-{systems}-seed{seed}",
        "scope": scope,
        "systems": [{"name": n, "components": {"ligand": n, "seed": seed}} for n in names],
        "transformations": [{"stateA": names[a], "stateB": names[b]} for a, b in pairs],
    }
    return parse_network(doc)
