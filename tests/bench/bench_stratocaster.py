"""The stratocaster adapter's iteration cost beside the built-in strategy's, 1000 transformations.

One network of real gufe objects (500 systems, 1000 transformations, about one real
ProtocolDAGResult per transformation) is served twice by a sandbox in its own process, in two
scopes: the built-in `ConnectivityStrategy` iterates one copy, the adapter running real
`stratocaster.strategies.ConnectivityStrategy` the other. Each gets a first pass (cold: the
adapter fetches and decodes the network and every result) and a second pass (warm: nothing
new to fetch), through the operator's IterationRunner over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from passes import KEY, Passes, announced, resource_spec, runner_for

from strategy_operator_dev.repo import repo_root

SYSTEMS, TRANSFORMATIONS = 500, 1000
SCOPES = {"builtin": "acme-bench-builtin", "adapter": "acme-bench-adapter"}
USER_PACKAGES = repo_root() / "tests" / "stratocaster" / "userpkg"

SERVER = r"""
import base64, json, sys
from strategy_operator_dev.sandbox.testing import running_sandbox
doc = json.load(open(sys.argv[1]))
with running_sandbox(identities={"bench": (sys.argv[2], ["acme-*-*"])}, shuffle=False) as sb:
    for scope in doc["scopes"]:
        network = sb.state.add_keyed_chain_network(doc["chain"], scope)
        for gufe_key, payloads in doc["results"].items():
            sk = f"{gufe_key}-{scope}"
            for obj_key, payload in payloads:
                (task,) = sb.state.create_tasks([sk])
                sb.state.claim_task(task)
                sb.state.complete_task(task, payload=base64.b64decode(payload), obj_key=obj_key)
        print("network", network, flush=True)
    print("url", sb.url, flush=True)
    sys.stdin.read()
"""


def _build(path: Path) -> int:
    """Write the network's keyed chain and its results' stored payloads; returns the result count."""
    sys.path.insert(0, str(USER_PACKAGES))
    sys.path.insert(0, str(repo_root()))  # for `tests.stratocaster`
    from mylab.protocols import measured_result

    from tests.stratocaster.gufe_networks import keyed_chain_document, network, stored_payload

    rng = random.Random(0)
    names = [f"s{i:04d}" for i in range(SYSTEMS)]
    pairs = [(names[i], names[rng.randrange(i)]) for i in range(1, SYSTEMS)]
    seen = set(pairs)
    while len(pairs) < TRANSFORMATIONS:
        pair = tuple(rng.sample(names, 2))
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    net = network(pairs)
    results: dict[str, list] = {}
    for transformation in sorted(net.edges, key=lambda t: t.key):
        for _ in range(rng.choice((0, 1, 1, 2))):
            pdr = measured_result(transformation, rng.uniform(-5, 5), rng.uniform(0.1, 1.0))
            payload = base64.b64encode(stored_payload(pdr)).decode()
            results.setdefault(str(transformation.key), []).append([str(pdr.key), payload])
    doc = {"chain": keyed_chain_document(net), "results": results, "scopes": list(SCOPES.values())}
    path.write_text(json.dumps(doc))
    return sum(len(v) for v in results.values())


async def _passes(url: str, network: str, strategy: dict, allowed: tuple[str, ...]) -> dict[str, float]:
    figures: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = runner_for(url, pool, iteration_timeout=900, allowed_strategies=allowed)
        passes = Passes(runner, resource_spec(network, strategy=strategy))
        try:
            for label in ("cold", "warm"):
                outcome = await passes.run()
                assert outcome.result == "iterated", outcome.log
                figures[f"{label} s"] = passes.seconds
                figures[f"{label} requests"] = passes.requests
        finally:
            await passes.aclose()
        stats = runner.result_cache_stats()
        if stats is not None:
            figures["cached results"] = stats.entries
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "network.json"
        started = time.perf_counter()
        results = _build(doc)
        print(
            f"built {TRANSFORMATIONS} transformations, {SYSTEMS} systems, {results} ProtocolDAGResults "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(doc), KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            networks, url = announced(process)
            by_scope = {n.split("-", 2)[2]: n for n in networks}
            builtin = asyncio.run(_passes(url, by_scope[SCOPES["builtin"]], {"name": "ConnectivityStrategy"}, ()))
            adapter = asyncio.run(
                _passes(
                    url,
                    by_scope[SCOPES["adapter"]],
                    {"name": "stratocaster.strategies.ConnectivityStrategy"},
                    ("stratocaster.strategies.*",),
                )
            )
        finally:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=60)
    for label, figures in (
        ("built-in ConnectivityStrategy", builtin),
        ("adapter, stratocaster.strategies.ConnectivityStrategy", adapter),
    ):
        extra = f", {figures['cached results']:.0f} results cached" if "cached results" in figures else ""
        print(
            f"{label}: cold pass {figures['cold s']:.2f} s ({figures['cold requests']:.0f} requests), "
            f"warm pass {figures['warm s']:.2f} s ({figures['warm requests']:.0f} requests){extra}",
            flush=True,
        )


if __name__ == "__main__":
    main()
