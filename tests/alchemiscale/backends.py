"""Two backends for one contract suite: the project's sandbox and the real alchemiscale 0.8.0.

A contract test asks for `backend` (and usually `backend_client`, both in conftest.py) and runs twice: against
the sandbox in `make test`, and against the real server in `make test-alchemiscale` (the
`real` parameter carries the `realserver` marker). Each backend builds real objects its own
way (sandbox state, or real gufe objects through the real `AlchemiscaleClient` and the real
compute service), and gives a fresh scope to every test, so tests never see each other's
objects on the session's shared real server.

Where the two disagree, the real server is right: the sandbox or the client is fixed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from strategy_operator.scopedkey import ScopedKey

from .alchemiscale_helpers import ALICE_KEY, OTHER_SCOPE, SCOPE


@dataclass
class CreatedNetwork:
    key: str
    transformations: list[str]  # in the order they were asked for
    systems: dict[str, list[str]] = field(default_factory=dict)  # transformation -> its chemical systems


class SandboxBackend:
    name = "sandbox"

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.url = sandbox.url
        self.identifier, self.key = "alice", ALICE_KEY
        self.scope, self.other_scope = SCOPE, OTHER_SCOPE
        self._broken: set[str] = set()

    def star(
        self, transformations: int, *, scope: str | None = None, broken: int = 0, non_transformations: int = 0
    ) -> CreatedNetwork:
        """Transformations 0 -> i for i = 1..n; the last `broken` of them fail when computed;
        then `non_transformations` NonTransformations of systems 1..k."""
        systems = [f"s{i}" for i in range(transformations + 1)]
        edges = [{"stateA": "s0", "stateB": f"s{i}"} for i in range(1, transformations + 1)]
        edges += [{"system": f"s{i}"} for i in range(1, non_transformations + 1)]
        from strategy_operator.planning.networks import parse_network

        scope = scope or self.scope
        definition = parse_network(
            {"name": f"star-{uuid.uuid4().hex[:8]}", "scope": scope, "systems": systems, "transformations": edges},
            scope=scope,
        )
        network = self.sandbox.state.add_network(definition)
        ordered = [f"{edge.gufe_key}-{scope}" for edge in definition.transformations]
        self._broken.update(ordered[transformations - broken : transformations])
        return CreatedNetwork(
            network, ordered, {t: self.sandbox.state.transformation_chemical_systems(t) for t in ordered}
        )

    def create_tasks(self, transformations: list[str]) -> list[str]:
        """Tasks created directly on the server (not by the client under test)."""
        return self.sandbox.state.create_tasks(list(transformations))

    def action_tasks(self, network: str, tasks: list[str]) -> None:
        self.sandbox.state.action_tasks(ScopedKey.from_str(network), list(tasks))

    def compute(self, network: str) -> int:
        """Run every actioned task of the network to completion (failure for broken ones)."""
        done = 0
        while claimable := self.sandbox.state.claimable_tasks(network):
            for task in list(claimable):
                self.sandbox.state.claim_task(task)
                ok = self.sandbox.state.task_transformation(task) not in self._broken
                self.sandbox.state.complete_task(task, ok=ok)
                done += 1
        return done


class RealBackend:
    name = "real"

    def __init__(self, stack) -> None:
        self.stack = stack
        self.url = stack.user_api_url
        self.identifier, self.key = stack.user.identifier, stack.user.key
        tag = uuid.uuid4().hex[:10]
        self.scope = f"acme-c{tag}-run1"  # alice's scopes are acme-*-*
        self.other_scope = f"globex-c{tag}-run1"

    def star(
        self, transformations: int, *, scope: str | None = None, broken: int = 0, non_transformations: int = 0
    ) -> CreatedNetwork:
        edges = [[0, i, "broken" if i > transformations - broken else "dummy"] for i in range(1, transformations + 1)]
        created = self.stack.driver(
            "create_network",
            {
                "scope": scope or self.scope,
                "name": f"star-{uuid.uuid4().hex[:8]}",
                "systems": transformations + 1,
                "edges": edges,
                "non_transformations": [[i, "dummy"] for i in range(1, non_transformations + 1)],
            },
        )
        return CreatedNetwork(created["network"], created["transformations"], created["transformation_systems"])

    def create_tasks(self, transformations: list[str]) -> list[str]:
        return self.stack.driver("create_tasks", {"transformations": list(transformations)})["tasks"]

    def action_tasks(self, network: str, tasks: list[str]) -> None:
        self.stack.driver("action_tasks", {"network": network, "tasks": list(tasks)})

    def compute(self, network: str) -> int:
        """One pass of the real SynchronousComputeService over the network's scope."""
        scope = str(ScopedKey.from_str(network).scope)
        return len(self.stack.driver("compute", {"scopes": [scope]})["executed"])
