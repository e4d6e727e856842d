"""Networks, transformations and chemical systems: adding, generating, reading. (part of `SandboxState`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from strategy_operator.planning.networks import (
    NetworkDefinition,
    parse_network,
)
from strategy_operator.planning.networks import (
    generate_network as network_definition,
)
from strategy_operator.scopedkey import Scope, ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    NO_SUCH_OBJECT,
    BadRequest,
    ChemicalSystemRecord,
    NetworkRecord,
    TransformationRecord,
    _gufe_key,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def add_network(self: SandboxState, definition: NetworkDefinition) -> str:
    """Store a network (idempotent: the same content in the same scope is one object)."""
    scope = str(definition.scope)
    network_sk = definition.scoped_key
    with self._lock:
        if network_sk in self.networks:
            return network_sk
        system_sks = []
        for system in definition.systems:
            sk = f"{system.gufe_key}-{scope}"
            self.chemical_systems.setdefault(sk, ChemicalSystemRecord(sk, system.name, system.components))
            system_sks.append(sk)
        edge_sks = []
        for edge in definition.transformations:
            sk = f"{edge.gufe_key}-{scope}"
            if sk not in self.transformation_records:
                self.transformation_records[sk] = TransformationRecord(
                    sk, edge.qualname, edge.name, tuple(f"{k}-{scope}" for k in edge.system_keys), edge.protocol
                )
                self._tasks_of_transformation[sk] = []
                self._status_counts[sk] = Counter()
            self._networks_of_transformation.setdefault(sk, set()).add(network_sk)
            edge_sks.append(sk)
        self.networks[network_sk] = NetworkRecord(network_sk, definition.name, edge_sks, system_sks, definition.state)
        self._actions[network_sk] = {}
        return network_sk


def add_keyed_chain_network(self: SandboxState, chain: list[Any], scope: str, state: str = "active") -> str:
    """Store a network given as a real gufe keyed chain (`AlchemicalNetwork.to_keyed_chain()`).

    Keys are the chain's own gufe keys, so a client decoding `GET /networks/{sk}` with gufe
    gets back the very objects; transformations, systems and tasks then behave as for any
    other network. Only the structure is read here: the sandbox needs no gufe.
    """
    scope_text = str(Scope.from_str(scope))
    entries = {key: body for key, body in chain}
    network_key, network_body = chain[-1]
    if network_body.get("__qualname__") != "AlchemicalNetwork":
        raise ValueError("the keyed chain's last entry must be the AlchemicalNetwork")

    def ref(value: Any) -> str:
        return str(value[":gufe-key:"])

    network_sk = f"{network_key}-{scope_text}"
    with self._lock:
        if network_sk in self.networks:
            return network_sk
        system_sks = []
        for item in network_body["nodes"]:
            key = ref(item)
            sk = f"{key}-{scope_text}"
            self.chemical_systems.setdefault(sk, ChemicalSystemRecord(sk, entries[key].get("name", ""), {}))
            system_sks.append(sk)
        edge_sks = []
        for item in network_body["edges"]:
            key = ref(item)
            body = entries[key]
            qualname = body["__qualname__"]
            fields = ("system",) if qualname == "NonTransformation" else ("stateA", "stateB")
            sk = f"{key}-{scope_text}"
            if sk not in self.transformation_records:
                systems = tuple(f"{ref(body[f])}-{scope_text}" for f in fields)
                self.transformation_records[sk] = TransformationRecord(
                    sk, qualname, body.get("name") or "", systems, {}
                )
                self._tasks_of_transformation[sk] = []
                self._status_counts[sk] = Counter()
            self._networks_of_transformation.setdefault(sk, set()).add(network_sk)
            edge_sks.append(sk)
        self.networks[network_sk] = NetworkRecord(
            network_sk, network_body.get("name") or "", edge_sks, system_sks, state
        )
        self._actions[network_sk] = {}
        self._network_chains[network_sk] = chain
        return network_sk


def remove_network(self: SandboxState, network_sk: str) -> None:
    """Delete a network and its TaskHub (what an administrator's clean-up does); its
    transformations, tasks and results stay, as they may belong to other networks."""
    with self._lock:
        network = self.networks.pop(str(network_sk))
        self._actions.pop(network.sk, None)
        self._network_chains.pop(network.sk, None)
        for transformation in network.transformations:
            self._networks_of_transformation.get(transformation, set()).discard(network.sk)
        for hubs in self._hubs_of_task.values():
            hubs.discard(network.sk)


def load_network(self: SandboxState, doc: dict[str, Any], scope: str | None = None) -> str:
    return self.add_network(parse_network(doc, scope=scope))


def generate_network(
    self: SandboxState,
    shape: str = "star",
    systems: int = 5,
    scope: str = "acme-tyk2-run1",
    seed: int = 0,
    **kwargs: Any,
) -> str:
    return self.add_network(network_definition(shape, systems, scope=scope, seed=seed, **kwargs))


def exists(self: SandboxState, sk: ScopedKey) -> bool:
    text = str(sk)
    with self._lock:
        match sk.qualname:
            case "AlchemicalNetwork":
                return text in self.networks
            case "Transformation" | "NonTransformation":
                return text in self.transformation_records and self.transformation_records[text].qualname == sk.qualname
            case "ChemicalSystem":
                return text in self.chemical_systems
            case "Task":
                return text in self.tasks
            case "ProtocolDAGResultRef":
                return text in self.results
            case "TaskHub":
                return any(n.taskhub_sk == text for n in self.networks.values())
            case "NetworkMark":
                return any(n.mark_sk == text for n in self.networks.values())
            case _:
                return text in self._strategies


def transformations(self: SandboxState, network_sk: str) -> list[str]:
    with self._lock:
        network = self.networks.get(str(network_sk))
        return self._unordered(network.transformations) if network else []


def network_chemical_systems(self: SandboxState, network_sk: str) -> list[str]:
    with self._lock:
        network = self.networks.get(str(network_sk))
        return self._unordered(network.chemical_systems) if network else []


def transformation_chemical_systems(self: SandboxState, transformation_sk: str) -> list[str]:
    with self._lock:
        record = self.transformation_records.get(str(transformation_sk))
        return list(record.systems) if record else []


def transformation_networks(self: SandboxState, transformation_sk: str) -> list[str]:
    with self._lock:
        return self._unordered(self._networks_of_transformation.get(str(transformation_sk), ()))


def chemical_system_networks(self: SandboxState, system_sk: str) -> list[str]:
    with self._lock:
        return self._unordered(n.sk for n in self.networks.values() if system_sk in n.chemical_systems)


def chemical_system_transformations(self: SandboxState, system_sk: str) -> list[str]:
    with self._lock:
        return self._unordered(t.sk for t in self.transformation_records.values() if system_sk in t.systems)


def object_chain(self: SandboxState, sk: ScopedKey) -> list[Any]:
    """A keyed-chain rendering of a network, transformation or chemical system."""
    text = str(sk)
    with self._lock:
        if sk.qualname == "ChemicalSystem" and text in self.chemical_systems:
            return [self._system_chain_entry(text)]
        if sk.qualname in ("Transformation", "NonTransformation") and text in self.transformation_records:
            record = self.transformation_records[text]
            return [self._system_chain_entry(s) for s in dict.fromkeys(record.systems)] + [
                self._edge_chain_entry(record)
            ]
        if sk.qualname == "AlchemicalNetwork" and text in self._network_chains:
            return self._network_chains[text]
        if sk.qualname == "AlchemicalNetwork" and text in self.networks:
            network = self.networks[text]
            chain = [self._system_chain_entry(s) for s in network.chemical_systems]
            chain += [self._edge_chain_entry(self.transformation_records[t]) for t in network.transformations]
            chain.append(
                [
                    sk.gufe_key,
                    {
                        "__qualname__": "AlchemicalNetwork",
                        "__module__": "gufe.network",
                        "name": network.name,
                        "nodes": [{":gufe-key:": _gufe_key(s)} for s in network.chemical_systems],
                        "edges": [{":gufe-key:": _gufe_key(t)} for t in network.transformations],
                    },
                ]
            )
            return chain
        raise BadRequest(NO_SUCH_OBJECT)


def _system_chain_entry(self: SandboxState, system_sk: str) -> list[Any]:
    system = self.chemical_systems[system_sk]
    return [
        _gufe_key(system_sk),
        {
            "__qualname__": "ChemicalSystem",
            "__module__": "gufe.chemicalsystem",
            "name": system.name,
            "components": system.components,
        },
    ]


def _edge_chain_entry(self: SandboxState, record: TransformationRecord) -> list[Any]:
    fields = ("stateA", "stateB") if record.qualname == "Transformation" else ("system",)
    body: dict[str, Any] = {
        "__qualname__": record.qualname,
        "__module__": "gufe.transformations.transformation",
        "name": record.name,
        "protocol": record.protocol,
    }
    body.update({f: {":gufe-key:": _gufe_key(s)} for f, s in zip(fields, record.systems)})
    return [_gufe_key(record.sk), body]
