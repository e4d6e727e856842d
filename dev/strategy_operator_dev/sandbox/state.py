"""The sandbox's in-memory alchemiscale: objects, task lifecycle, TaskHubs, results, strategies.

This module holds every semantic rule of the emulated server and knows nothing of HTTP; the
FastAPI layer (`app.py`) only parses requests, checks scopes and maps the two error kinds
below to status codes. Rules follow alchemiscale 0.8.0's state store, including behaviour
that looks unintended (documented in docs/sandbox.md), because clients must cope with it.

All public methods take the instance lock, so the state may be shared between the server's
event loop, a compute simulator thread and test code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, PositiveInt

from strategy_operator.scopedkey import InvalidScopedKey, Scope, ScopedKey
from strategy_operator_dev.sandbox.networks import (
    NETWORK_STATES,
    NetworkDefinition,
    generate_network,
    parse_network,
)

TASK_STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
USER_SETTABLE_STATUSES = ("waiting", "invalid", "deleted")
ACTIONABLE_STATUSES = ("waiting", "running", "error")
DEFAULT_HUB_WEIGHT = 0.5
DEFAULT_ACTION_WEIGHT = 0.5
DEFAULT_PRIORITY = 10
DEFAULT_FAILURE_TRACEBACK = "SandboxSimulatedFailure: a simulated protocol unit failed"
MAX_PRIORITY = 2**63 - 1
NO_SUCH_OBJECT = "'No such object in database'"  # str() of the KeyError upstream raises
NOT_A_NETWORK = "`network` ScopedKey does not correspond to an `AlchemicalNetwork`"


class SandboxError(Exception):
    """Base of the errors the HTTP layer maps to responses."""


class BadRequest(SandboxError):
    """The server answers 400 with this detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ServerFault(SandboxError):
    """The real server crashes here (an unhandled exception): 500, plain text."""


class UnknownIdentity(ServerFault):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Identity:
    identifier: str
    key: str
    scopes: list[str]

    def __repr__(self) -> str:  # never show the key
        return f"Identity(identifier={self.identifier!r}, scopes={self.scopes!r})"


@dataclass
class ChemicalSystemRecord:
    sk: str
    name: str
    components: dict[str, Any]


@dataclass
class TransformationRecord:
    sk: str
    qualname: str
    name: str
    systems: tuple[str, ...]  # SKs: (stateA, stateB) or (system,)
    protocol: dict[str, Any]


@dataclass
class StrategyRecord:
    sk: str
    chain: list[Any]
    state: dict[str, Any]


@dataclass
class NetworkRecord:
    sk: str
    name: str
    transformations: list[str]
    chemical_systems: list[str]
    mark: str = "active"
    hub_weight: float = DEFAULT_HUB_WEIGHT
    strategy: StrategyRecord | None = None

    @property
    def taskhub_sk(self) -> str:
        key = ScopedKey.from_str(self.sk)
        return f"TaskHub-{hashlib.md5(self.sk.encode()).hexdigest()}-{key.scope}"

    @property
    def mark_sk(self) -> str:
        key = ScopedKey.from_str(self.sk)
        return f"NetworkMark-{hashlib.md5(('mark:' + self.sk).encode()).hexdigest()}-{key.scope}"


@dataclass
class TaskRecord:
    sk: str
    transformation: str
    status: str = "waiting"
    priority: int = DEFAULT_PRIORITY
    creator: str | None = None
    extends: str | None = None
    created: dt.datetime = field(default_factory=_utcnow)
    claim: str | None = None  # the claiming compute service, while one holds it
    claimed_at: float | None = None


@dataclass
class ResultRecord:
    sk: str
    task: str
    transformation: str
    ok: bool
    obj_key: str
    location: str
    created: dt.datetime
    creator: str | None
    payload: bytes
    tracebacks: list[str] | None = None  # failed units' tracebacks (failures only)


class StrategyModeEnum(StrEnum):
    full = "full"
    partial = "partial"
    disabled = "disabled"


class StrategyStatusEnum(StrEnum):
    awake = "awake"
    dormant = "dormant"
    error = "error"


class StrategyTaskScalingEnum(StrEnum):
    linear = "linear"
    exponential = "exponential"


class StrategyStateModel(BaseModel):
    """alchemiscale's StrategyState: omitted fields take defaults, unknown keys are ignored.

    Enums (in upstream's member order) and the title make a 422's detail, which is the
    text of pydantic's error, read as upstream's does."""

    model_config = ConfigDict(extra="ignore", title="StrategyState")

    mode: StrategyModeEnum = StrategyModeEnum.partial
    status: StrategyStatusEnum = StrategyStatusEnum.awake
    iterations: int = 0
    sleep_interval: PositiveInt = 3600
    last_iteration: dt.datetime | None = None
    last_iteration_result_count: int = 0
    max_tasks_per_transformation: PositiveInt = 3
    task_scaling: StrategyTaskScalingEnum = StrategyTaskScalingEnum.exponential
    exception: tuple[str, str] | None = None
    traceback: str | None = None


def validate_strategy_state(fields: dict[str, Any]) -> dict[str, Any]:
    """Raises pydantic's ValidationError (a ValueError) naming the offending field."""
    state = StrategyStateModel.model_validate(fields).model_dump()
    return {name: value.value if isinstance(value, StrEnum) else value for name, value in state.items()}


def strategy_state_json(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    if isinstance(out["last_iteration"], dt.datetime):
        out["last_iteration"] = out["last_iteration"].isoformat()
    if out["exception"] is not None:
        out["exception"] = list(out["exception"])
    return out


def _parse_sk(sk: str | ScopedKey) -> ScopedKey:
    if isinstance(sk, ScopedKey):
        return sk
    try:
        return ScopedKey.from_str(sk)
    except InvalidScopedKey as exc:
        raise ServerFault(str(exc)) from None


class SandboxState:
    """The whole emulated server. `seed` makes task keys and shuffles reproducible."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        shuffle: bool = False,
        last_scope_bug: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._shuffle_rng = np.random.default_rng(None if seed is None else seed + 1)
        self.shuffle = shuffle
        self.last_scope_bug = last_scope_bug
        self.store_reachable = True  # `/check` answers 503 when False
        self.identities: dict[str, Identity] = {}
        self.networks: dict[str, NetworkRecord] = {}
        self.chemical_systems: dict[str, ChemicalSystemRecord] = {}
        self.transformation_records: dict[str, TransformationRecord] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.results: dict[str, ResultRecord] = {}
        self._strategies: set[str] = set()
        self._tasks_of_transformation: dict[str, list[str]] = {}
        self._networks_of_transformation: dict[str, set[str]] = {}
        self._extended_by: dict[str, set[str]] = {}
        self._actions: dict[str, dict[str, float]] = {}  # network SK -> {task SK: ACTIONS weight}
        self._hubs_of_task: dict[str, set[str]] = {}
        self._results_of_task: dict[str, list[str]] = {}
        # Task counts by status per transformation, kept in step by `_set_status` so that
        # status-count endpoints cost O(transformations), not O(tasks).
        self._status_counts: dict[str, Counter[str]] = {}
        self._result_counter = 0
        # Task restart patterns: per hub {pattern: max_retries}; per task the APPLIES links
        # {(network SK, pattern): retries so far}.
        self._restart_patterns: dict[str, dict[str, int]] = {}
        self._applies: dict[str, dict[tuple[str, str], int]] = {}

    # -- helpers ----------------------------------------------------------------------

    def _unordered(self, items: Iterable[Any]) -> list[Any]:
        """Lists the real server returns without ORDER BY; shuffled when asked so that
        clients cannot come to rely on an incidental order."""
        out = list(items)
        if self.shuffle and len(out) > 1:
            # numpy's permutation runs in C; random.shuffle dominated large listings.
            out = [out[i] for i in self._shuffle_rng.permutation(len(out)).tolist()]
        return out

    def _set_status(self, task: TaskRecord, status: str) -> None:
        counts = self._status_counts[task.transformation]
        counts[task.status] -= 1
        if not counts[task.status]:
            del counts[task.status]
        counts[status] += 1
        task.status = status

    def _new_task_token(self) -> str:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex

    # -- identities -------------------------------------------------------------------

    def add_identity(self, identifier: str, key: str, scopes: Iterable[str]) -> None:
        scopes = list(scopes)
        for scope in scopes:
            Scope.from_str(scope)  # raises InvalidScopedKey naming the bad scope
        with self._lock:
            self.identities[identifier] = Identity(identifier, key, scopes)

    def authenticate(self, identifier: str, key: str) -> Identity | None:
        """The identity when the key matches; None for a wrong key; UnknownIdentity (a 500
        upstream) for an identifier that does not exist."""
        with self._lock:
            identity = self.identities.get(identifier)
            if identity is None:
                raise UnknownIdentity(f"no identity {identifier!r}")
            if len(key) > 4096 or "\x00" in key:
                raise ServerFault("secret rejected")
            return identity if identity.key == key else None

    def identity_scopes(self, identifier: str) -> list[str]:
        if "'" in identifier:
            raise ServerFault("identifier breaks upstream's string-built Cypher query")
        with self._lock:
            identity = self.identities.get(identifier)
            return list(identity.scopes) if identity else []

    # -- structure --------------------------------------------------------------------

    def add_network(self, definition: NetworkDefinition) -> str:
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
            self.networks[network_sk] = NetworkRecord(
                network_sk, definition.name, edge_sks, system_sks, definition.state
            )
            self._actions[network_sk] = {}
            return network_sk

    def load_network(self, doc: dict[str, Any], scope: str | None = None) -> str:
        return self.add_network(parse_network(doc, scope=scope))

    def generate_network(
        self, shape: str = "star", systems: int = 5, scope: str = "acme-tyk2-run1", seed: int = 0, **kwargs: Any
    ) -> str:
        return self.add_network(generate_network(shape, systems, scope=scope, seed=seed, **kwargs))

    def exists(self, sk: ScopedKey) -> bool:
        text = str(sk)
        with self._lock:
            match sk.qualname:
                case "AlchemicalNetwork":
                    return text in self.networks
                case "Transformation" | "NonTransformation":
                    return (
                        text in self.transformation_records
                        and self.transformation_records[text].qualname == sk.qualname
                    )
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

    def transformations(self, network_sk: str) -> list[str]:
        with self._lock:
            network = self.networks.get(str(network_sk))
            return self._unordered(network.transformations) if network else []

    def network_chemical_systems(self, network_sk: str) -> list[str]:
        with self._lock:
            network = self.networks.get(str(network_sk))
            return self._unordered(network.chemical_systems) if network else []

    def transformation_chemical_systems(self, transformation_sk: str) -> list[str]:
        with self._lock:
            record = self.transformation_records.get(str(transformation_sk))
            return list(record.systems) if record else []

    def transformation_networks(self, transformation_sk: str) -> list[str]:
        with self._lock:
            return self._unordered(self._networks_of_transformation.get(str(transformation_sk), ()))

    def chemical_system_networks(self, system_sk: str) -> list[str]:
        with self._lock:
            return self._unordered(n.sk for n in self.networks.values() if system_sk in n.chemical_systems)

    def chemical_system_transformations(self, system_sk: str) -> list[str]:
        with self._lock:
            return self._unordered(t.sk for t in self.transformation_records.values() if system_sk in t.systems)

    def object_chain(self, sk: ScopedKey) -> list[Any]:
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

    def _system_chain_entry(self, system_sk: str) -> list[Any]:
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

    def _edge_chain_entry(self, record: TransformationRecord) -> list[Any]:
        fields = ("stateA", "stateB") if record.qualname == "Transformation" else ("system",)
        body: dict[str, Any] = {
            "__qualname__": record.qualname,
            "__module__": "gufe.transformations.transformation",
            "name": record.name,
            "protocol": record.protocol,
        }
        body.update({f: {":gufe-key:": _gufe_key(s)} for f, s in zip(fields, record.systems)})
        return [_gufe_key(record.sk), body]

    # -- network state and queries -------------------------------------------------------

    def get_network_states(self, network_sks: list[str]) -> list[str | None]:
        with self._lock:
            return [n.mark if (n := self.networks.get(sk)) else None for sk in network_sks]

    def set_network_states(self, network_sks: list[ScopedKey], states: list[str]) -> list[str | None]:
        if len(network_sks) != len(states):
            raise BadRequest("networks and states must have the same length")
        for sk, state in zip(network_sks, states):  # pair by pair, as upstream
            if sk.qualname != "AlchemicalNetwork":
                raise BadRequest(NOT_A_NETWORK)
            if state not in NETWORK_STATES:
                raise BadRequest(f"'{state}' is not a valid state. Valid values include: {list(NETWORK_STATES)}")
        with self._lock:
            out: list[str | None] = []
            for sk, state in zip(network_sks, states):
                network = self.networks.get(str(sk))
                if network is None:
                    out.append(None)
                else:
                    network.mark = state
                    out.append(network.sk)
            return out

    def query_networks(self, scope: Scope, name: str | None = None, state: str | None = None) -> list[str]:
        with self._lock:
            found = []
            for network in self.networks.values():
                if not scope.covers(ScopedKey.from_str(network.sk).scope):
                    continue
                if name is not None and not _fullmatch(name, network.name):
                    continue
                if state is not None and not _fullmatch(state, network.mark):
                    continue
                found.append(network.sk)
            return self._unordered(found)

    # Transformations, chemical systems and tasks are queried by upstream's generic `_query`:
    # `name`/`status` are matched as properties (equality, not a regex, unlike networks),
    # and the answer is ordered by org, campaign, project, gufe_key.

    def query_transformations(self, scope: Scope, name: str | None = None) -> list[str]:
        with self._lock:
            return _in_key_order(
                t.sk
                for t in self.transformation_records.values()
                if scope.covers(ScopedKey.from_str(t.sk).scope) and (name is None or t.name == name)
            )

    def query_chemical_systems(self, scope: Scope, name: str | None = None) -> list[str]:
        with self._lock:
            return _in_key_order(
                s.sk
                for s in self.chemical_systems.values()
                if scope.covers(ScopedKey.from_str(s.sk).scope) and (name is None or s.name == name)
            )

    def query_tasks(self, scope: Scope, status: str | None = None) -> list[str]:
        with self._lock:
            return _in_key_order(
                t.sk
                for t in self.tasks.values()
                if scope.covers(ScopedKey.from_str(t.sk).scope) and (status is None or t.status == status)
            )

    # -- tasks --------------------------------------------------------------------------

    def create_tasks(
        self,
        transformations: list[ScopedKey | str],
        extends: list[ScopedKey | str | None] | None = None,
        creator: str | None = None,
    ) -> list[str]:
        """Create waiting, unactioned tasks; all-or-nothing. Output is grouped by type
        (Transformation first, then NonTransformation) as upstream does."""
        tf_keys = [_parse_sk(t) for t in transformations]
        if extends is None:
            ext_keys: list[ScopedKey | None] = [None] * len(tf_keys)
        elif len(extends) != len(tf_keys):
            raise BadRequest("`extends` must either be `None` or have the same length as `transformations`")
        else:
            ext_keys = [None if not e else _parse_sk(e) for e in extends]
        for tf, ext in zip(tf_keys, ext_keys):
            if ext is not None and ext.qualname != "Task":
                raise BadRequest(f"`extends` ScopedKey ({ext}) does not correspond to a `Task`")
        groups: dict[str, list[tuple[ScopedKey, ScopedKey | None]]] = {"Transformation": [], "NonTransformation": []}
        for tf, ext in zip(tf_keys, ext_keys):
            if tf.qualname not in groups:
                raise BadRequest(f"Got an unsupported `Transformation` type: {tf.qualname}")
            groups[tf.qualname].append((tf, ext))
        with self._lock:
            parents: dict[str, TaskRecord] = {}
            for ext in ext_keys:
                if ext is not None and (parent := self.tasks.get(str(ext))) is not None:
                    if parent.status in ("invalid", "deleted"):
                        raise BadRequest(f"Cannot extend a `deleted` or `invalid` Task: {parent.sk}")
                    parents[parent.sk] = parent
            planned: list[tuple[str, str, str | None]] = []
            for qualname, members in groups.items():
                for tf, ext in members:
                    record = self.transformation_records.get(str(tf))
                    if record is None or record.qualname != qualname:
                        raise ServerFault(f"no {qualname} {tf}")
                    if ext is not None:
                        parent = parents.get(str(ext))
                        if parent is None:
                            raise ServerFault(f"no Task {ext}")
                        if parent.transformation != str(tf):
                            raise BadRequest(f"{ext} extends a Transformation other than {tf}")
                    scope = (tf_keys[-1] if self.last_scope_bug else tf).scope
                    planned.append((f"Task-{self._new_task_token()}-{scope}", str(tf), str(ext) if ext else None))
            created = []
            for task_sk, tf_sk, ext_sk in planned:
                self.tasks[task_sk] = TaskRecord(task_sk, tf_sk, creator=creator, extends=ext_sk)
                self._tasks_of_transformation[tf_sk].append(task_sk)
                self._status_counts[tf_sk]["waiting"] += 1
                if ext_sk is not None:
                    self._extended_by.setdefault(ext_sk, set()).add(task_sk)
                created.append(task_sk)
            return created

    def transformation_tasks(
        self, transformation_sk: str, *, status: str | None = None, extends: str | None = None
    ) -> dict[str, str | None]:
        """{task SK: extended SK or None}; with `extends`, only tasks reaching it via EXTENDS."""
        with self._lock:
            candidates = self._tasks_of_transformation.get(str(transformation_sk), [])
            if extends is not None:
                below = self._descendants(extends)
                candidates = [t for t in candidates if t in below]
            return {
                sk: self.tasks[sk].extends
                for sk in self._unordered(candidates)
                if status is None or self.tasks[sk].status == status
            }

    def _descendants(self, task_sk: str) -> set[str]:
        found: set[str] = set()
        stack = [task_sk]
        while stack:
            for child in self._extended_by.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def network_tasks(self, network_sk: str, status: str | None = None) -> list[str]:
        with self._lock:
            network = self.networks.get(str(network_sk))
            if network is None:
                return []
            return self._unordered(
                sk
                for tf in network.transformations
                for sk in self._tasks_of_transformation[tf]
                if status is None or self.tasks[sk].status == status
            )

    def task_transformation(self, task_sk: str) -> str:
        with self._lock:
            task = self.tasks.get(str(task_sk))
            if task is None:
                raise BadRequest(NO_SUCH_OBJECT)
            if task.extends is not None and len(self._results_of_task.get(task.extends, [])) > 1:
                raise ServerFault("extended task has more than one result")  # upstream defect
            return task.transformation

    def task_networks(self, task_sk: str) -> list[str]:
        with self._lock:
            task = self.tasks.get(str(task_sk))
            if task is None:
                return []
            return self._unordered(self._networks_of_transformation.get(task.transformation, ()))

    def task_statuses(self, task_sks: list[str | None]) -> list[str | None]:
        with self._lock:
            return [t.status if sk is not None and (t := self.tasks.get(str(sk))) else None for sk in task_sks]

    def task_status(self, task_sk: str) -> str:
        with self._lock:
            task = self.tasks.get(str(task_sk))
            if task is None:
                raise ServerFault(f"no Task {task_sk}")
            return task.status

    def set_task_status(self, task_sks: list[str | None], status: str) -> list[str | None]:
        """User-requested status changes (waiting/invalid/deleted), per the lifecycle table.

        Any other valid status gives the 400 upstream gives; the compute-side transitions are
        `claim_task`/`complete_task`/`expire_task`.
        """
        self.check_user_status(status)
        with self._lock:
            out: list[str | None] = []
            for sk in task_sks:
                task = self.tasks.get(str(sk)) if sk is not None else None
                if task is None:
                    out.append(None)
                    continue
                if status == "waiting":
                    if task.status not in ("waiting", "running", "error"):
                        out.append(None)
                        continue
                    self._set_status(task, "waiting")
                    self._release_claim(task)
                else:
                    forbidden = "deleted" if status == "invalid" else "invalid"
                    if task.status == forbidden:
                        out.append(None)
                        continue
                    self._terminate(task, status)
                out.append(task.sk)
            return out

    @staticmethod
    def check_user_status(status: str) -> None:
        """A status string a user may request; an unknown one crashes upstream (500)."""
        if status not in TASK_STATUSES:
            raise ServerFault(f"{status!r} is not a valid TaskStatusEnum")
        if status not in USER_SETTABLE_STATUSES:
            raise BadRequest(
                f"Cannot set status to 'TaskStatusEnum.{status}', must be one of 'waiting', 'invalid', 'deleted'"
            )

    def _release_claim(self, task: TaskRecord) -> None:
        task.claim = None
        task.claimed_at = None

    def _unaction_everywhere(self, task_sk: str) -> None:
        for network_sk in self._hubs_of_task.pop(task_sk, set()):
            self._actions[network_sk].pop(task_sk, None)
        self._applies.pop(task_sk, None)

    def _terminate(self, task: TaskRecord, status: str) -> None:
        """invalid/deleted: the task leaves every hub; tasks extending it (transitively) are
        forced into the same status, but leave only the hubs that also action this task
        (upstream's query binds the hub variable to this task's hubs)."""
        self._set_status(task, status)
        hubs = set(self._hubs_of_task.get(task.sk, ()))
        self._unaction_everywhere(task.sk)
        self._release_claim(task)
        for child_sk in self._descendants(task.sk):
            child = self.tasks[child_sk]
            self._set_status(child, status)
            self._applies.pop(child_sk, None)
            for network_sk in hubs:
                if self._actions[network_sk].pop(child_sk, None) is not None:
                    self._hubs_of_task[child_sk].discard(network_sk)

    def task_priorities(self, task_sks: list[str | None]) -> list[int | None]:
        with self._lock:
            return [t.priority if sk is not None and (t := self.tasks.get(str(sk))) else None for sk in task_sks]

    def set_task_priorities(self, task_sks: list[str | None], priority: int) -> list[str | None]:
        if not (1 <= priority <= MAX_PRIORITY):
            raise BadRequest("priority must be between 1 and 2**63 - 1, inclusive")
        with self._lock:
            out: list[str | None] = []
            for sk in task_sks:
                task = self.tasks.get(str(sk)) if sk is not None else None
                if task is not None:
                    task.priority = priority
                out.append(task.sk if task else None)
            return out

    # -- status counts ------------------------------------------------------------------

    def transformation_status(self, transformation_sk: str) -> dict[str, int]:
        with self._lock:
            return dict(self._status_counts.get(str(transformation_sk), {}))

    def network_status(self, network_sk: str) -> dict[str, int]:
        with self._lock:
            network = self.networks.get(str(network_sk))
            if network is None:
                return {}
            counts: dict[str, int] = {}
            for tf in network.transformations:
                for status, n in self._status_counts[tf].items():
                    counts[status] = counts.get(status, 0) + n
            return counts

    def networks_status(self, network_sks: list[str]) -> list[dict[str, int]]:
        """Aligned with the input; a network listed twice has its counts doubled (upstream defect)."""
        with self._lock:
            totals = Counter(network_sks)
            return [{s: n * totals[sk] for s, n in self.network_status(sk).items()} for sk in network_sks]

    def scope_status(self, scopes: list[Scope], network_state: str | None = None) -> dict[str, int]:
        """Distinct tasks in the scopes whose transformation is in a network whose state matches."""
        with self._lock:
            counts: Counter[str] = Counter()
            for task in self.tasks.values():
                if not any(s.covers(ScopedKey.from_str(task.sk).scope) for s in scopes):
                    continue
                networks = self._networks_of_transformation.get(task.transformation, ())
                if any(network_state is None or _fullmatch(network_state, self.networks[n].mark) for n in networks):
                    counts[task.status] += 1
            return dict(counts)

    # -- TaskHub ------------------------------------------------------------------------

    def _network_for_hub(self, network_sk: ScopedKey | str) -> NetworkRecord | None:
        network_sk = _parse_sk(network_sk)
        if network_sk.qualname != "AlchemicalNetwork":
            raise BadRequest(NOT_A_NETWORK)
        return self.networks.get(str(network_sk))

    def actioned_tasks(self, network_sk: ScopedKey | str) -> dict[str, float]:
        with self._lock:
            network = self._network_for_hub(network_sk)
            if network is None:
                return {}
            actions = self._actions[network.sk]
            return {sk: actions[sk] for sk in self._unordered(actions)}

    def task_actioned_networks(self, task_sk: str) -> dict[str, float]:
        with self._lock:
            return {
                n: self._actions[n][str(task_sk)] for n in self._unordered(self._hubs_of_task.get(str(task_sk), ()))
            }

    def action_tasks(
        self, network_sk: ScopedKey | str, task_sks: list[str], weight: float | list[float] | None = None
    ) -> list[str | None]:
        """Action tasks on the network's hub; weights are validated only after the actioning
        is committed, exactly like upstream (a 400 leaves the new links at weight 0.5)."""
        with self._lock:
            network = self._network_for_hub(network_sk)
            if network is None:
                return [None] * len(task_sks)
            actions = self._actions[network.sk]
            members = set(network.transformations)
            out: list[str | None] = []
            for sk in task_sks:
                task = self.tasks.get(str(sk))
                if (
                    task is None
                    or task.transformation not in members
                    or task.status not in ACTIONABLE_STATUSES
                    or task.sk in actions
                ):
                    out.append(None)
                    continue
                actions[task.sk] = DEFAULT_ACTION_WEIGHT
                self._hubs_of_task.setdefault(task.sk, set()).add(network.sk)
                for pattern in self._restart_patterns.get(network.sk, {}):
                    self._applies.setdefault(task.sk, {}).setdefault((network.sk, pattern), 0)
                out.append(task.sk)
            if isinstance(weight, list):
                if len(weight) != len(task_sks):
                    raise BadRequest("weight (when in a list) must have the same length as tasks")
                if any(not (0 <= w <= 1) for w in weight):
                    raise BadRequest("weights must be between 0 and 1 (inclusive)")
                for sk, w in zip(task_sks, weight):
                    if str(sk) in actions:
                        actions[str(sk)] = float(w)
            elif weight is not None:
                if not (0 <= weight <= 1):
                    raise BadRequest("weight must be between 0 and 1 (inclusive)")
                for sk in task_sks:
                    if str(sk) in actions:
                        actions[str(sk)] = float(weight)
            return out

    def cancel_tasks(self, network_sk: ScopedKey | str, task_sks: list[str]) -> list[str | None]:
        with self._lock:
            network = self._network_for_hub(network_sk)
            if network is None:
                return [None] * len(task_sks)
            actions = self._actions[network.sk]
            out: list[str | None] = []
            for sk in task_sks:
                if actions.pop(str(sk), None) is None:
                    out.append(None)
                else:
                    self._unlink(str(sk), network.sk)
                    out.append(str(sk))
            return out

    def _unlink(self, task_sk: str, network_sk: str) -> None:
        """Remove one ACTIONS link and the APPLIES links of that hub's restart patterns."""
        self._actions[network_sk].pop(task_sk, None)
        self._hubs_of_task.get(task_sk, set()).discard(network_sk)
        applies = self._applies.get(task_sk)
        if applies:
            for key in [k for k in applies if k[0] == network_sk]:
                del applies[key]

    def hub_weights(self, network_sks: list[str]) -> list[float | None]:
        if any(str(sk).split("-", 1)[0] != "AlchemicalNetwork" for sk in network_sks):
            raise ServerFault(NOT_A_NETWORK)  # upstream's GET handlers do not catch its ValueError
        with self._lock:
            return [n.hub_weight if (n := self.networks.get(str(sk))) else None for sk in network_sks]

    def set_hub_weights(self, network_sks: list[str], weights: list[float]) -> list[str | None]:
        # Upstream's order of checks, and its messages.
        if any(not (0 <= w <= 1) for w in weights):
            raise BadRequest("all `weights` must be between 0 and 1 (inclusive)")
        if any(str(sk).split("-", 1)[0] != "AlchemicalNetwork" for sk in network_sks):
            raise BadRequest("a `networks` ScopedKey does not correspond to an `AlchemicalNetwork`")
        if len(network_sks) != len(weights):
            raise BadRequest("length of `networks` and `weights` must be the same")
        with self._lock:
            out: list[str | None] = []
            for sk, w in zip(network_sks, weights):
                network = self.networks.get(str(sk))
                if network is not None:
                    network.hub_weight = float(w)
                out.append(network.sk if network else None)
            return out

    # -- results ------------------------------------------------------------------------

    def _refs(self, refs: Iterable[str], ok: bool) -> list[str]:
        return self._unordered(sk for sk in dict.fromkeys(refs) if self.results[sk].ok is ok)

    def transformation_results(self, transformation_sk: str, ok: bool = True) -> list[str]:
        with self._lock:
            tasks = self._tasks_of_transformation.get(str(transformation_sk), ())
            return self._refs((r for t in tasks for r in self._results_of_task.get(t, ())), ok)

    def task_results(self, task_sk: str, ok: bool = True) -> list[str]:
        with self._lock:
            return self._refs(self._results_of_task.get(str(task_sk), ()), ok)

    def result_payload(self, ref_sk: str) -> bytes:
        """The stored result of a ref. Upstream falls back to the location recorded on the ref
        when the route's object-store path misses, so the route (results or failures) and the
        transformation in the URL do not matter once the ref exists."""
        with self._lock:
            ref = self.results.get(str(ref_sk))
            if ref is None:
                raise BadRequest(NO_SUCH_OBJECT)
            return ref.payload

    # -- compute side (test hooks and the simulator) ---------------------------------------

    def claim_task(self, task_sk: str, claimant: str = "sandbox-compute", now: float | None = None) -> None:
        """waiting -> running for one task (a direct hook: no actioning rules applied)."""
        with self._lock:
            task = self._task_or_error(task_sk)
            if task.status != "waiting":
                raise ValueError(f"task {task_sk} is {task.status}, only waiting tasks can be claimed")
            self._set_status(task, "running")
            task.claim = claimant
            task.claimed_at = now

    def complete_task(
        self,
        task_sk: str,
        ok: bool = True,
        creator: str = "sandbox-compute",
        tracebacks: Sequence[str] | None = None,
    ) -> str:
        """Submit a result (successful when `ok`, a failure otherwise) and return its ref SK.

        Like upstream, the ref is attached whatever the task's status; the status changes only
        from running (or when already in the target status): ok -> complete, leaving every hub;
        failure -> error, staying actioned, after which the hubs' restart patterns are matched
        against the failure's `tracebacks` (default: one generic simulated traceback).
        """
        with self._lock:
            task = self._task_or_error(task_sk)
            self._result_counter += 1
            created = _utcnow()
            scope = ScopedKey.from_str(task.sk).scope
            payload_doc = {
                "__qualname__": "ProtocolDAGResult",
                "transformation_key": _gufe_key(task.transformation),
                "extends_key": task.extends,
                "ok": ok,
                "task": task.sk,
                "n": self._result_counter,
            }
            obj_key = f"ProtocolDAGResult-{hashlib.md5(json.dumps(payload_doc, sort_keys=True).encode()).hexdigest()}"
            ref_token = hashlib.md5(f"{obj_key}|{created.isoformat()}|{self._result_counter}".encode()).hexdigest()
            ref_sk = f"ProtocolDAGResultRef-{ref_token}-{scope}"
            payload = json.dumps([[obj_key, payload_doc]], sort_keys=True).encode("utf-8")
            if not ok and tracebacks is None:
                tracebacks = [DEFAULT_FAILURE_TRACEBACK]
            self.results[ref_sk] = ResultRecord(
                ref_sk,
                task.sk,
                task.transformation,
                ok,
                obj_key,
                f"protocoldagresult/{ref_token}",
                created,
                creator,
                payload,
                None if ok else list(tracebacks or []),
            )
            self._results_of_task.setdefault(task.sk, []).append(ref_sk)
            target = "complete" if ok else "error"
            if task.status in ("running", target):
                self._set_status(task, target)
                self._release_claim(task)
                if ok:
                    self._unaction_everywhere(task.sk)
                else:
                    self._resolve_restarts([task.sk])
            return ref_sk

    def expire_task(self, task_sk: str) -> None:
        """running -> waiting, as when the claiming compute service's heartbeat expires."""
        with self._lock:
            task = self._task_or_error(task_sk)
            if task.status != "running":
                raise ValueError(f"task {task_sk} is {task.status}, only running tasks can expire")
            self._set_status(task, "waiting")
            self._release_claim(task)

    def _task_or_error(self, task_sk: str) -> TaskRecord:
        task = self.tasks.get(str(task_sk))
        if task is None:
            raise KeyError(f"no task {task_sk}")
        return task

    def claimable_tasks(self, network_sk: str) -> dict[str, float]:
        """Tasks a compute service could claim from this network's hub, with ACTIONS weights."""
        with self._lock:
            out = {}
            for sk, weight in self._actions.get(str(network_sk), {}).items():
                task = self.tasks[sk]
                if task.status != "waiting" or weight <= 0:
                    continue
                if task.extends is not None and self.tasks[task.extends].status != "complete":
                    continue
                out[sk] = weight
            return out

    def claim_next(self, rng: random.Random, claimant: str = "sandbox-compute", now: float | None = None) -> str | None:
        """Claim one task like a compute service: pick a hub by hub weight, then the lowest
        priority value, weighted-random by ACTIONS weight among equals."""
        with self._lock:
            hubs = []
            for network in self.networks.values():
                if network.hub_weight <= 0:
                    continue
                claimable = self.claimable_tasks(network.sk)
                if claimable:
                    hubs.append((network, claimable))
            if not hubs:
                return None
            hubs.sort(key=lambda h: h[0].sk)
            network, claimable = rng.choices(hubs, weights=[h[0].hub_weight for h in hubs])[0]
            best = min(self.tasks[sk].priority for sk in claimable)
            candidates = sorted(sk for sk in claimable if self.tasks[sk].priority == best)
            chosen = rng.choices(candidates, weights=[claimable[sk] for sk in candidates])[0]
            self.claim_task(chosen, claimant, now)
            return chosen

    def running_tasks(self) -> list[TaskRecord]:
        with self._lock:
            return [t for t in self.tasks.values() if t.status == "running"]

    # -- task restart patterns ------------------------------------------------------------

    def _hub_for_patterns(self, network_sk: ScopedKey | str) -> NetworkRecord | None:
        network_sk = _parse_sk(network_sk)
        if network_sk.qualname != "AlchemicalNetwork":
            raise ServerFault(NOT_A_NETWORK)  # upstream does not catch it here
        return self.networks.get(str(network_sk))

    def add_restart_patterns(self, network_sk: ScopedKey | str, patterns: list[str], max_retries: int) -> None:
        """Patterns enforce the hub and apply to every task it actions now or later; the
        hub's errored tasks are resolved against them at once."""
        with self._lock:
            network = self._hub_for_patterns(network_sk)
            if network is None:
                raise ServerFault("No such TaskHub in the database")
            for pattern in patterns:
                re.compile(pattern)  # an invalid regex crashes upstream later; fail early
            hub_patterns = self._restart_patterns.setdefault(network.sk, {})
            actioned = list(self._actions[network.sk])
            for pattern in patterns:
                hub_patterns.setdefault(pattern, max_retries)
                for task_sk in actioned:
                    self._applies.setdefault(task_sk, {}).setdefault((network.sk, pattern), 0)
            self._resolve_restarts(actioned)

    def remove_restart_patterns(self, network_sk: ScopedKey | str, patterns: list[str]) -> None:
        with self._lock:
            network = self._hub_for_patterns(network_sk)
            if network is None:
                return
            hub_patterns = self._restart_patterns.get(network.sk, {})
            for pattern in patterns:
                if hub_patterns.pop(pattern, None) is not None:
                    for applies in self._applies.values():
                        applies.pop((network.sk, pattern), None)

    def clear_restart_patterns(self, network_sk: ScopedKey | str) -> None:
        with self._lock:
            network = self._hub_for_patterns(network_sk)
            if network is not None:
                self.remove_restart_patterns(network_sk, list(self._restart_patterns.get(network.sk, {})))

    def set_restart_patterns_max_retries(
        self, network_sk: ScopedKey | str, patterns: list[str], max_retries: int
    ) -> None:
        with self._lock:
            network = self._hub_for_patterns(network_sk)
            hub_patterns = self._restart_patterns.get(network.sk, {}) if network else {}
            for pattern in patterns:
                if pattern in hub_patterns:
                    hub_patterns[pattern] = max_retries

    def restart_patterns(self, network_sks: list[ScopedKey]) -> dict[str, list[list[Any]]]:
        """{network SK: [[pattern, max_retries], ...]}."""
        with self._lock:
            out: dict[str, list[list[Any]]] = {}
            for sk in network_sks:
                network = self._hub_for_patterns(sk)
                patterns = self._restart_patterns.get(network.sk, {}) if network else {}
                out[str(sk)] = [[p, n] for p, n in patterns.items()]
            return out

    def task_restart_retries(self, task_sk: str) -> dict[tuple[str, str], int]:
        """The task's APPLIES links: {(network SK, pattern): retries so far}."""
        with self._lock:
            return dict(self._applies.get(str(task_sk), {}))

    def _latest_tracebacks(self, task_sk: str) -> list[str] | None:
        for ref_sk in reversed(self._results_of_task.get(task_sk, [])):
            ref = self.results[ref_sk]
            if ref.tracebacks is not None:
                return ref.tracebacks
        return None

    def _resolve_restarts(self, task_sks: Iterable[str]) -> None:
        """Upstream's restart resolution for errored tasks with patterns applied: per hub, a
        matching pattern under its limit counts a retry; no match, an exceeded limit or no
        tracebacks cancels the task from that hub; a task still under any pattern afterwards
        goes back to waiting."""
        for task_sk in task_sks:
            task = self.tasks.get(task_sk)
            applies = self._applies.get(task_sk)
            if task is None or task.status != "error" or not applies:
                continue
            tracebacks = self._latest_tracebacks(task_sk)
            cancel: dict[str, bool | None] = {}
            to_increment: list[tuple[str, str]] = []
            for network_sk, pattern in list(applies):
                if tracebacks is None:
                    cancel[network_sk] = True
                if cancel.get(network_sk):
                    continue
                cancel.setdefault(network_sk, None)
                if any(re.search(pattern, message) for message in tracebacks or ()):
                    if applies[(network_sk, pattern)] + 1 > self._restart_patterns[network_sk][pattern]:
                        cancel[network_sk] = True
                    else:
                        to_increment.append((network_sk, pattern))
                        cancel[network_sk] = False
            for key in to_increment:
                applies[key] += 1
            for network_sk, verdict in cancel.items():
                if verdict in (True, None):
                    self._unlink(task_sk, network_sk)
            if self._applies.get(task_sk):
                self._set_status(task, "waiting")

    # -- strategies ---------------------------------------------------------------------

    def set_strategy(
        self, network_sk: ScopedKey | str, chain: list[Any] | None, state_fields: dict[str, Any]
    ) -> str | None:
        """Store a strategy verbatim with a replaced state; None removes it."""
        network_sk = _parse_sk(network_sk)
        with self._lock:
            # Upstream builds the state from the body first: a bad one is a 422 whatever the SK.
            state = validate_strategy_state(state_fields) if chain is not None else None
            if network_sk.qualname != "AlchemicalNetwork":
                raise ServerFault("not a network")  # upstream's 400 branch crashes
            network = self.networks.get(str(network_sk))
            if chain is None:
                if network is not None:
                    network.strategy = None
                return None
            if network is None:
                raise ServerFault("no such network")
            assert state is not None
            gufe_key = chain[-1][0]
            strategy_sk = f"{gufe_key}-{network_sk.scope}"
            network.strategy = StrategyRecord(strategy_sk, chain, state)
            self._strategies.add(strategy_sk)
            return strategy_sk

    def strategy(self, network_sk: str) -> StrategyRecord | None:
        with self._lock:
            network = self.networks.get(str(network_sk))
            return network.strategy if network else None

    def awaken_strategy(self, network_sk: str) -> str | None:
        with self._lock:
            network = self.networks.get(str(network_sk))
            if network is None or network.strategy is None:
                return None
            state = network.strategy.state
            state.update(status="awake", exception=None, traceback=None)
            return network.sk


def _fullmatch(pattern: str, text: str) -> bool:
    """Whole-string regex match, as Cypher's `=~`; a bad pattern is a database error (500)."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error as exc:
        raise ServerFault(f"invalid regular expression {pattern!r}: {exc}") from None


def _in_key_order(sks: Iterable[str]) -> list[str]:
    def order(sk: str) -> tuple[str, ...]:
        gufe_key, org, campaign, project = sk.rsplit("-", 3)
        return (org, campaign, project, gufe_key)

    return sorted(sks, key=order)


def _gufe_key(sk: str) -> str:
    qualname, token, *_ = sk.split("-")
    return f"{qualname}-{token}"
