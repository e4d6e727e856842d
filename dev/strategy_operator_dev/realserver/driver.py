"""Real gufe and alchemiscale code, run inside the server's Python 3.12 venv (never the project's).

The project's own venv has neither gufe nor alchemiscale, so the stack runs this file as a
subprocess: one JSON request on stdin (`{"command": ..., "args": {...}}`), one answer line
`DRIVER_RESULT <json>` on stdout; logs go to stderr. Addresses and credentials come from
the environment the stack sets (see `RealAlchemiscale.server_env`). It imports nothing of
the project.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

# A SMILES pool for distinct small molecules; a component's name is part of its gufe key,
# so names make them distinct even when a SMILES repeats in a large network.
SMILES = [
    "c1ccccc1",
    "Cc1ccccc1",
    "CCc1ccccc1",
    "Oc1ccccc1",
    "Nc1ccccc1",
    "Clc1ccccc1",
    "Fc1ccccc1",
    "COc1ccccc1",
    "CC(C)c1ccccc1",
    "c1ccc2ccccc2c1",
    "CCO",
    "CCCO",
    "CCN",
    "CC(=O)O",
    "CCCC",
]


def _user_client(who: str = "ADMIN"):
    """The real user-API client, as the admin identity (all scopes) unless `who="USER"`."""
    from alchemiscale import AlchemiscaleClient

    return AlchemiscaleClient(
        os.environ["REALSERVER_USER_API_URL"],
        os.environ[f"REALSERVER_{who}_IDENTIFIER"],
        os.environ[f"REALSERVER_{who}_KEY"],
    )


def setup(args: dict) -> dict:
    """Initialise the database and the object store; add the identities with their scopes."""
    from alchemiscale.models import Scope
    from alchemiscale.security.auth import hash_key
    from alchemiscale.security.models import CredentialedComputeIdentity, CredentialedUserIdentity
    from alchemiscale.settings import get_neo4jstore_settings, get_s3objectstore_settings
    from alchemiscale.storage.objectstore import get_s3os
    from alchemiscale.storage.statestore import get_n4js

    n4js = get_n4js(get_neo4jstore_settings())
    n4js.initialize()
    for kind, cls in (("users", CredentialedUserIdentity), ("computes", CredentialedComputeIdentity)):
        for identity in args[kind]:
            n4js.create_credentialed_entity(
                cls(identifier=identity["identifier"], hashed_key=hash_key(identity["key"]))
            )
            for scope in identity["scopes"]:
                n4js.add_scope(identity["identifier"], cls, Scope.from_str(scope))
    get_s3os(get_s3objectstore_settings()).initialize()
    return {"ok": True}


def _protocol(kind: str):
    from gufe.tests.test_protocol import BrokenProtocol, DummyProtocol

    cls = {"dummy": DummyProtocol, "broken": BrokenProtocol}[kind]
    settings = cls.default_settings()
    settings.n_repeats = 2  # the default 21 units only make each task slower
    return cls(settings=settings)


def create_network(args: dict) -> dict:
    """An AlchemicalNetwork of real gufe objects, submitted through the real client.

    args: scope, name, systems (count), edges ([[a, b, protocol], ...] by system index; a
    star around system 0 with DummyProtocol when absent), non_transformations ([[i, protocol], ...]).
    Answers the network's key and the transformation keys aligned with `edges` then
    `non_transformations`.
    """
    from alchemiscale.models import Scope
    from gufe import (
        AlchemicalNetwork,
        ChemicalSystem,
        NonTransformation,
        SmallMoleculeComponent,
        SolventComponent,
        Transformation,
    )
    from rdkit import Chem
    from rdkit.Chem import AllChem

    count = int(args["systems"])
    solvent = SolventComponent()
    systems = []
    for i in range(count):
        mol = Chem.AddHs(Chem.MolFromSmiles(SMILES[i % len(SMILES)]))
        AllChem.Compute2DCoords(mol)  # type: ignore[attr-defined]  # missing from rdkit's stubs
        ligand = SmallMoleculeComponent.from_rdkit(mol, name=f"{args['name']}-lig{i}")
        systems.append(ChemicalSystem({"ligand": ligand, "solvent": solvent}, name=f"{args['name']}-sys{i}"))
    edges = args.get("edges") or [[0, i, "dummy"] for i in range(1, count)]
    protocols: dict[str, object] = {}

    def protocol(kind: str):
        if kind not in protocols:
            protocols[kind] = _protocol(kind)
        return protocols[kind]

    transformations = [
        Transformation(stateA=systems[a], stateB=systems[b], protocol=protocol(kind), name=f"{args['name']}-t{a}-{b}")
        for a, b, kind in edges
    ]
    transformations += [
        NonTransformation(system=systems[i], protocol=protocol(kind), name=f"{args['name']}-n{i}")
        for i, kind in args.get("non_transformations") or []
    ]
    network = AlchemicalNetwork(edges=transformations, nodes=systems, name=args["name"])
    scope = Scope.from_str(args["scope"])
    client = _user_client()
    network_sk = client.create_network(network, scope)
    key = lambda obj: str(client.get_scoped_key(obj, scope))  # noqa: E731
    return {
        "network": str(network_sk),
        "transformations": [key(t) for t in transformations],
        "chemicalsystems": [key(s) for s in systems],
        # Per transformation, its systems as gufe orders them (stateA, stateB; one for a NonTransformation).
        "transformation_systems": {key(t): [key(s) for s in _systems_of(t)] for t in transformations},
    }


def _systems_of(transformation) -> list:
    from gufe import NonTransformation

    if isinstance(transformation, NonTransformation):
        return [transformation.system]
    return [transformation.stateA, transformation.stateB]


def compute(args: dict) -> dict:
    """One pass of the real `SynchronousComputeService`: claim and execute until nothing is left.

    args: scopes (list of scope strings; all when absent), max_tasks (optional), claim_limit.
    """
    from alchemiscale.compute.service import SynchronousComputeService
    from alchemiscale.compute.settings import ComputeServiceSettings
    from alchemiscale.models import Scope

    base = Path(tempfile.mkdtemp(prefix="compute-", dir=os.environ.get("REALSERVER_WORKDIR")))
    settings = ComputeServiceSettings(
        api_url=os.environ["REALSERVER_COMPUTE_API_URL"],
        identifier=os.environ["REALSERVER_COMPUTE_IDENTIFIER"],
        key=os.environ["REALSERVER_COMPUTE_KEY"],
        name="realserverdriver",  # no dashes: part of a `{name}-{uuid}` id
        shared_basedir=base / "shared",
        scratch_basedir=base / "scratch",
        scopes=[Scope.from_str(s) for s in args.get("scopes") or ["*-*-*"]],
        claim_limit=int(args.get("claim_limit", 10)),
        client_use_local_cache=False,
        client_cache_directory=base / "cache",
        loglevel="WARNING",
        sleep_interval=1,
        heartbeat_interval=60,
    )
    max_tasks = args.get("max_tasks")
    executed: list[dict] = []
    services = 0
    while True:
        # A service whose tasks failed too often is denied claims for a while (the compute
        # API's MAX_FAILURES): a fresh one takes over, as another worker of a fleet would.
        service = SynchronousComputeService(settings)
        services += 1
        service._register()
        try:
            denied = False
            while max_tasks is None or len(executed) < max_tasks:
                limit = (
                    settings.claim_limit if max_tasks is None else min(settings.claim_limit, max_tasks - len(executed))
                )
                claimed = service.claim_tasks(count=limit)
                if claimed is None:
                    denied = True
                    break
                tasks = [t for t in claimed if t is not None]
                if not tasks:
                    break
                for task in tasks:
                    result = service.execute(task)
                    executed.append({"task": str(task), "result": str(result)})
        finally:
            service._deregister()
        if not denied or services > 1000:
            break
    return {"executed": executed}


def create_tasks(args: dict) -> dict:
    """Tasks created by someone else than the operator (the admin identity): args transformations."""
    from alchemiscale.models import ScopedKey

    client = _user_client()
    return {"tasks": [str(client.create_tasks(ScopedKey.from_str(t), count=1)[0]) for t in args["transformations"]]}


def action_tasks(args: dict) -> dict:
    from alchemiscale.models import ScopedKey

    client = _user_client()
    answer = client.action_tasks([ScopedKey.from_str(t) for t in args["tasks"]], ScopedKey.from_str(args["network"]))
    return {"actioned": [str(t) if t is not None else None for t in answer]}


def set_strategy(args: dict) -> dict:
    """Set a real stratocaster strategy on a network (args: network, name, settings, mode,
    max_tasks_per_transformation, task_scaling), through the real client."""
    from alchemiscale.models import ScopedKey
    from stratocaster.strategies import ConnectivityStrategy, RadialGrowthStrategy

    cls = {"ConnectivityStrategy": ConnectivityStrategy, "RadialGrowthStrategy": RadialGrowthStrategy}[args["name"]]
    strategy = cls(type(cls.default_settings())(**(args.get("settings") or {})))
    sk = _user_client().set_network_strategy(
        ScopedKey.from_str(args["network"]),
        strategy,
        max_tasks_per_transformation=args.get("max_tasks_per_transformation", 3),
        task_scaling=args.get("task_scaling", "exponential"),
        mode=args.get("mode", "partial"),
    )
    return {"strategy": str(sk)}


def strategist_iteration(args: dict) -> dict:
    """One iteration of the unmodified upstream `StrategistService` on one network (args: network).

    Its settings set no `scopes` (with scopes 0.8.0 fails every cycle with a Cypher syntax
    error); the network is chosen here instead of by `cycle()`, so other tests' networks with
    strategies are left alone. The new state is stored as `cycle()` stores it.
    """
    from alchemiscale.models import ScopedKey
    from alchemiscale.settings import get_neo4jstore_settings, get_s3objectstore_settings
    from alchemiscale.strategist.service import StrategistService
    from alchemiscale.strategist.settings import StrategistSettings

    service = StrategistService(
        StrategistSettings(
            neo4j_settings=get_neo4jstore_settings(),
            s3_settings=get_s3objectstore_settings(),
            use_local_cache=False,
        )
    )
    network = ScopedKey.from_str(args["network"])
    started = time.monotonic()
    state = service._execute_strategy(network, service.n4js.get_network_strategy_state(network))
    seconds = time.monotonic() - started
    service.n4js.update_strategy_state(network, state)
    return {
        "status": state.status.value,
        "iterations": state.iterations,
        "exception": state.exception,
        "last_iteration_result_count": state.last_iteration_result_count,
        "seconds": seconds,
    }


def add_scope(args: dict) -> dict:
    """Give a user identity one more scope (args: identifier, scope), as `alchemiscale identity add-scope`."""
    from alchemiscale.models import Scope
    from alchemiscale.security.models import CredentialedUserIdentity
    from alchemiscale.settings import get_neo4jstore_settings
    from alchemiscale.storage.statestore import get_n4js

    get_n4js(get_neo4jstore_settings()).add_scope(
        args["identifier"], CredentialedUserIdentity, Scope.from_str(args["scope"])
    )
    return {"ok": True}


COMMANDS = {
    "add_scope": add_scope,
    "set_strategy": set_strategy,
    "strategist_iteration": strategist_iteration,
    "setup": setup,
    "create_network": create_network,
    "compute": compute,
    "create_tasks": create_tasks,
    "action_tasks": action_tasks,
}


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    request = json.loads(sys.stdin.read())
    started = time.monotonic()
    answer = COMMANDS[request["command"]](request.get("args") or {})
    print(f"driver {request['command']} took {time.monotonic() - started:.1f} s", file=sys.stderr)
    sys.stdout.write("DRIVER_RESULT " + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
