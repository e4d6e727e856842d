"""The sandbox's in-memory alchemiscale: objects, task lifecycle, TaskHubs, results, strategies.

This package holds every semantic rule of the emulated server, one module per area (mixed into
`SandboxState` below), and knows nothing of HTTP; the FastAPI layer (`routes/`) only parses requests, checks scopes and maps the two error kinds
below to status codes. Rules follow alchemiscale 0.8.0's state store, including behaviour
that looks unintended (documented in docs/sandbox.md), because clients must cope with it.

All public methods take the instance lock, so the state may be shared between the server's
event loop, a compute simulator thread and test code.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from strategy_operator_dev.sandbox.state import (
    compute,
    hub,
    identities,
    queries,
    restarts,
    results,
    strategies,
    structure,
    tasks,
)
from strategy_operator_dev.sandbox.state.records import (
    TASK_STATUSES,
    BadRequest,
    ChemicalSystemRecord,
    Identity,
    NetworkRecord,
    ResultRecord,
    SandboxError,
    ServerFault,
    TaskRecord,
    TransformationRecord,
    strategy_state_json,
)

__all__ = ["TASK_STATUSES", "BadRequest", "SandboxError", "SandboxState", "ServerFault", "strategy_state_json"]


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
        # Networks stored from a real gufe keyed chain: served verbatim by GET /networks/{sk}.
        self._network_chains: dict[str, list[Any]] = {}

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

    # identities.py
    add_identity = identities.add_identity
    authenticate = identities.authenticate
    identity_scopes = identities.identity_scopes

    # structure.py
    add_network = structure.add_network
    add_keyed_chain_network = structure.add_keyed_chain_network
    load_network = structure.load_network
    remove_network = structure.remove_network
    generate_network = structure.generate_network
    exists = structure.exists
    transformations = structure.transformations
    network_chemical_systems = structure.network_chemical_systems
    transformation_chemical_systems = structure.transformation_chemical_systems
    transformation_networks = structure.transformation_networks
    chemical_system_networks = structure.chemical_system_networks
    chemical_system_transformations = structure.chemical_system_transformations
    object_chain = structure.object_chain
    _system_chain_entry = structure._system_chain_entry
    _edge_chain_entry = structure._edge_chain_entry

    # queries.py
    get_network_states = queries.get_network_states
    set_network_states = queries.set_network_states
    query_networks = queries.query_networks
    query_transformations = queries.query_transformations
    query_chemical_systems = queries.query_chemical_systems
    query_tasks = queries.query_tasks

    # tasks.py
    create_tasks = tasks.create_tasks
    transformation_tasks = tasks.transformation_tasks
    _descendants = tasks._descendants
    network_tasks = tasks.network_tasks
    task_transformation = tasks.task_transformation
    task_networks = tasks.task_networks
    task_statuses = tasks.task_statuses
    task_status = tasks.task_status
    set_task_status = tasks.set_task_status
    check_user_status = staticmethod(tasks.check_user_status)
    _release_claim = tasks._release_claim
    _unaction_everywhere = tasks._unaction_everywhere
    _terminate = tasks._terminate
    task_priorities = tasks.task_priorities
    set_task_priorities = tasks.set_task_priorities

    # hub.py
    transformation_status = hub.transformation_status
    network_status = hub.network_status
    networks_status = hub.networks_status
    scope_status = hub.scope_status
    _network_for_hub = hub._network_for_hub
    actioned_tasks = hub.actioned_tasks
    task_actioned_networks = hub.task_actioned_networks
    action_tasks = hub.action_tasks
    cancel_tasks = hub.cancel_tasks
    _unlink = hub._unlink
    hub_weights = hub.hub_weights
    set_hub_weights = hub.set_hub_weights

    # results.py
    _refs = results._refs
    transformation_results = results.transformation_results
    task_results = results.task_results
    result_payload = results.result_payload

    # compute.py
    claim_task = compute.claim_task
    complete_task = compute.complete_task
    expire_task = compute.expire_task
    _task_or_error = compute._task_or_error
    claimable_tasks = compute.claimable_tasks
    claim_next = compute.claim_next
    running_tasks = compute.running_tasks

    # restarts.py
    _hub_for_patterns = restarts._hub_for_patterns
    add_restart_patterns = restarts.add_restart_patterns
    remove_restart_patterns = restarts.remove_restart_patterns
    clear_restart_patterns = restarts.clear_restart_patterns
    set_restart_patterns_max_retries = restarts.set_restart_patterns_max_retries
    restart_patterns = restarts.restart_patterns
    task_restart_retries = restarts.task_restart_retries
    _latest_tracebacks = restarts._latest_tracebacks
    _resolve_restarts = restarts._resolve_restarts

    # strategies.py
    set_strategy = strategies.set_strategy
    strategy = strategies.strategy
    awaken_strategy = strategies.awaken_strategy
