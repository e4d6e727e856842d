"""`make run`: the whole system on one machine, watching strategies converge.

    python -m strategy_operator_dev.localrun [--cluster local|current] [--exit-when-dormant]

It starts (or, with `--cluster current`, uses) a Kubernetes API server, installs the
NetworkStrategy CRD, serves an alchemiscale sandbox with one generated network per example
and simulated compute, runs `strategy-operator run` as a subprocess, applies `examples/`
pointed at the sandbox, and shows every strategy's progress until all are dormant.
Ctrl-C stops everything in the order that leaves no finalizer behind: the strategies are
deleted while the operator still runs, then the operator, the sandbox and the API server stop.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from strategy_operator.api import GROUP, PLURAL
from strategy_operator_dev import procs
from strategy_operator_dev.procs import OperatorProcess
from strategy_operator_dev.repo import find_repo_root

CRD_NAME = f"{PLURAL}.{GROUP}"
DEMO_IDENTITY = "demo-operator"
DEMO_SECRET = "alchemiscale-sandbox"
DEMO_SCOPE_ORG, DEMO_SCOPE_CAMPAIGN = "acme", "tyk2"
# Network shapes handed to the examples in order: small enough to finish in a minute or two.
NETWORK_SHAPES = (("star", 6), ("random", 7), ("path", 6), ("star", 5), ("random", 6))
CLUSTER_ENV = ("STRATEGY_OPERATOR_DEMO_CLUSTER", "CLUSTER")
OPERATOR_ARGS = (
    "--min-sleep-interval",
    "1",
    "--tick",
    "1",
    "--allowed-scopes",
    f"{DEMO_SCOPE_ORG}-{DEMO_SCOPE_CAMPAIGN}-*",
    "--log-level",
    "info",
)


class LocalRunError(RuntimeError):
    """The demo could not start; the message says what to do."""


# ------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    cluster: str
    namespace: str
    examples: Path
    sleep_interval: int
    compute_rate: float
    compute_duration: float
    failure_probability: float
    exit_when_dormant: bool
    timeout: float | None
    workdir: Path
    refresh: float


def _default_cluster() -> str:
    for name in CLUSTER_ENV:
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    return "local"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        choices=("local", "current"),
        default=None,
        help="local: start a private kube-apiserver (default); current: use the current "
        "kubeconfig context [env STRATEGY_OPERATOR_DEMO_CLUSTER or CLUSTER]",
    )
    parser.add_argument("--namespace", default="alchemiscale-demo", help="namespace for the demo's strategies")
    parser.add_argument(
        "--examples",
        type=Path,
        default=None,
        help="folder of NetworkStrategy YAML files to apply (default: the checkout's examples/)",
    )
    parser.add_argument(
        "--sleep-interval",
        type=int,
        default=3,
        help="spec.sleepInterval given to every example, in seconds (default 3)",
    )
    parser.add_argument(
        "--compute-rate", type=float, default=4.0, help="simulated compute: tasks claimed per second (default 4)"
    )
    parser.add_argument(
        "--compute-duration", type=float, default=1.5, help="seconds a simulated task runs (default 1.5)"
    )
    parser.add_argument(
        "--failure-probability", type=float, default=0.0, help="chance a simulated task fails (default 0)"
    )
    parser.add_argument(
        "--exit-when-dormant", action="store_true", help="stop everything and exit 0 once every strategy is dormant"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="give up (exit 1) after this many seconds without all strategies dormant",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="logs and the local kubeconfig (default .run/localrun in a clone, else a temp dir)",
    )
    parser.add_argument("--refresh", type=float, default=1.0, help="seconds between progress updates (default 1)")


def options_from(args: argparse.Namespace) -> Options:
    cluster = args.cluster or _default_cluster()
    if cluster not in ("local", "current"):
        raise LocalRunError(f"cluster: {cluster!r} is neither 'local' nor 'current'")
    if args.sleep_interval < 1:
        raise LocalRunError(f"--sleep-interval: must be at least 1 second, got {args.sleep_interval}")
    repo = find_repo_root()
    examples = args.examples
    if examples is None:
        if repo is None:
            raise LocalRunError("--examples: not inside a checkout of this project; name the examples folder")
        examples = repo / "examples"
    if not examples.is_dir() or not sorted(examples.glob("*.yaml")):
        raise LocalRunError(f"--examples: {examples} holds no *.yaml NetworkStrategy files")
    workdir = args.workdir
    if workdir is None:
        workdir = (
            repo / ".run" / "localrun"
            if repo is not None
            else Path(tempfile.mkdtemp(prefix="strategy-operator-localrun-"))
        )
    return Options(
        cluster=cluster,
        namespace=args.namespace,
        examples=examples,
        sleep_interval=args.sleep_interval,
        compute_rate=args.compute_rate,
        compute_duration=args.compute_duration,
        failure_probability=args.failure_probability,
        exit_when_dormant=args.exit_when_dormant,
        timeout=args.timeout,
        workdir=workdir,
        refresh=args.refresh,
    )


# ------------------------------------------------------------------------- kubectl


class Kubectl(procs.Kubectl):
    """kubectl against one kubeconfig (None: whatever the environment says); failures are LocalRunErrors."""

    def __init__(self, kubeconfig: Path | None) -> None:
        super().__init__(kubeconfig, error=LocalRunError, timeout=60)


@dataclass(frozen=True)
class CurrentContext:
    name: str
    server: str
    reachable: bool


def current_context(kubectl: Kubectl) -> CurrentContext | None:
    """The kubeconfig context the user's own tools would use, and whether its API answers."""
    name = kubectl("config", "current-context", check=False, timeout=10)
    if name.returncode != 0 or not name.stdout.strip():
        return None
    server = kubectl(
        "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}", check=False, timeout=10
    ).stdout.strip()
    ready = kubectl("--request-timeout=5s", "get", "--raw", "/readyz", check=False, timeout=15)
    return CurrentContext(name.stdout.strip(), server, ready.returncode == 0)


# --------------------------------------------------------------------- resources


def demo_strategies(
    examples: Path,
    networks: list[str],
    *,
    namespace: str,
    server_url: str,
    credentials_secret: str,
    sleep_interval: int,
) -> list[dict[str, Any]]:
    """The example NetworkStrategies, each pointed at its own sandbox network and server."""
    documents = []
    for path in sorted(examples.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "NetworkStrategy":
                documents.append(document)
    if len(documents) > len(networks):
        raise LocalRunError(f"{len(documents)} examples but only {len(networks)} sandbox networks")
    strategies = []
    for document, network in zip(documents, networks):
        strategy = copy.deepcopy(document)
        strategy["metadata"] = {
            "name": document["metadata"]["name"],
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "strategy-operator-demo"},
        }
        strategy["spec"]["network"] = network
        strategy["spec"]["server"] = {"url": server_url, "credentialsSecret": credentials_secret}
        strategy["spec"]["sleepInterval"] = sleep_interval
        strategies.append(strategy)
    return strategies


def credentials_secret_manifest(namespace: str, identifier: str, key: str, server: str) -> dict[str, Any]:
    # Bound to the sandbox by its owner (us): the operator sends the key nowhere else.
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": DEMO_SECRET,
            "namespace": namespace,
            "annotations": {"alchemiscale.org/servers": server},
        },
        "stringData": {"identifier": identifier, "key": key},
    }


# ---------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Row:
    name: str
    strategy: str
    mode: str
    status: str
    iterations: int
    results: int | None
    tasks: dict[str, int]
    last: str
    problem: str


def progress_rows(resources: list[dict[str, Any]], task_counts: dict[str, dict[str, int]]) -> list[Row]:
    rows = []
    for resource in sorted(resources, key=lambda r: r["metadata"]["name"]):
        spec, status = resource.get("spec", {}), resource.get("status") or {}
        summary = status.get("lastIterationSummary") or {}
        last = ""
        if summary:
            last = (
                f"created {summary.get('tasksCreated', 0)}, actioned {summary.get('tasksActioned', 0)}, "
                f"cancelled {summary.get('tasksCancelled', 0)}"
            )
        exception = status.get("exception") or {}
        problem = f"{exception.get('type', '')}: {exception.get('message', '')}" if exception else ""
        rows.append(
            Row(
                name=resource["metadata"]["name"],
                strategy=spec.get("strategy", {}).get("name", "?"),
                mode=spec.get("mode", "partial"),
                status=status.get("status") or "pending",
                iterations=int(status.get("iterations") or 0),
                results=status.get("lastIterationResultCount"),
                tasks=task_counts.get(spec.get("network", ""), {}),
                last=last,
                problem=problem,
            )
        )
    return rows


def render_table(rows: list[Row]) -> str:
    header = ("NAME", "STRATEGY", "MODE", "STATUS", "ITER", "RESULTS", "TASKS w/r/c/e", "LAST ITERATION")
    lines = [header]
    for row in rows:
        tasks = "/".join(str(row.tasks.get(s, 0)) for s in ("waiting", "running", "complete", "error"))
        lines.append(
            (
                row.name,
                row.strategy,
                row.mode,
                row.status,
                str(row.iterations),
                "-" if row.results is None else str(row.results),
                tasks,
                row.last,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
    problems = [f"  {row.name}: {row.problem}" for row in rows if row.problem]
    return text + ("\n" + "\n".join(problems) if problems else "")


def all_dormant(rows: list[Row]) -> bool:
    return bool(rows) and all(row.status == "dormant" for row in rows)


# ------------------------------------------------------------------------- the run


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def run(options: Options, out: TextIO = sys.stdout) -> int:
    from strategy_operator_dev.controlplane import ControlPlane
    from strategy_operator_dev.sandbox.testing import ComputeSettings, running_sandbox

    options.workdir.mkdir(parents=True, exist_ok=True)
    users_kubectl = Kubectl(None)
    context = current_context(users_kubectl)

    with contextlib.ExitStack() as stack, _stop_on_signals() as stop:
        # 1. The API server.
        if options.cluster == "current":
            if context is None or not context.reachable:
                where = f"context {context.name!r} at {context.server}" if context else "no current context"
                raise LocalRunError(f"--cluster current: the current kubeconfig ({where}) is not reachable")
            _say(out, f"Using your current context {context.name!r} ({context.server}).")
            kubectl = users_kubectl
        else:
            if context is not None and context.reachable:
                _say(
                    out,
                    f"Note: your kubeconfig's current context {context.name!r} ({context.server}) is "
                    "reachable. This demo uses a private local control plane; run "
                    "`make run CLUSTER=current` to use that cluster instead.",
                )
            _say(out, "Starting a local kube-apiserver (etcd + kube-apiserver on loopback)...")
            plane = ControlPlane.start(options.workdir / "controlplane")
            stack.callback(plane.stop)
            kubectl = Kubectl(plane.kubeconfig)
            _say(out, f"  API server {plane.server_url}; kubeconfig {plane.kubeconfig}")
        if stop.is_set():
            return 130

        # 2. The CRD and the namespace.
        crd_text = _rendered_crd()
        kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=crd_text)
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
        if kubectl("get", "namespace", options.namespace, check=False).returncode != 0:
            kubectl("create", "namespace", options.namespace)
            if options.cluster == "current":
                stack.callback(kubectl, "delete", "namespace", options.namespace, "--wait=false", check=False)
        _say(out, f"CRD {CRD_NAME} installed; strategies go in namespace {options.namespace!r}.")

        # 3. The sandbox: one network per example, simulated compute.
        key = secrets.token_urlsafe(24)
        scope = f"{DEMO_SCOPE_ORG}-{DEMO_SCOPE_CAMPAIGN}-*"
        compute = ComputeSettings(
            rate=options.compute_rate,
            duration=options.compute_duration,
            failure_probability=options.failure_probability,
            seed=0,
        )
        sandbox = stack.enter_context(running_sandbox(identities={DEMO_IDENTITY: (key, [scope])}, compute=compute))
        example_count = sum(
            1
            for p in options.examples.glob("*.yaml")
            for d in yaml.safe_load_all(p.read_text())
            if d and d.get("kind") == "NetworkStrategy"
        )
        networks = [
            sandbox.state.generate_network(
                shape, systems, scope=f"{DEMO_SCOPE_ORG}-{DEMO_SCOPE_CAMPAIGN}-run{i + 1}", seed=i
            )
            for i, (shape, systems) in zip(range(example_count), _cycle(NETWORK_SHAPES))
        ]
        _say(
            out,
            f"alchemiscale sandbox at {sandbox.url} with {len(networks)} networks; "
            f"compute {options.compute_rate:g} tasks/s, {options.compute_duration:g} s each.",
        )
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(credentials_secret_manifest(options.namespace, DEMO_IDENTITY, key, sandbox.url)),
        )
        stack.callback(
            kubectl, "delete", "secret", DEMO_SECRET, "-n", options.namespace, "--ignore-not-found", check=False
        )

        # 4. The operator.
        operator = OperatorProcess(
            options.namespace,
            options.workdir / "operator.log",
            [*OPERATOR_ARGS, "--allowed-servers", sandbox.url],
            env=kubectl.env(),
        ).start(wait_ready=False)
        stack.callback(operator.stop, 15.0)
        assert operator.process is not None  # start() started it
        _say(
            out,
            f"Operator started (pid {operator.process.pid}); log {operator.log_path}; "
            f"metrics http://127.0.0.1:{operator.http_port}/metrics",
        )

        # 5. The strategies; on the way out they are deleted while the operator still runs.
        strategies = demo_strategies(
            options.examples,
            networks,
            namespace=options.namespace,
            server_url=sandbox.url,
            credentials_secret=DEMO_SECRET,
            sleep_interval=options.sleep_interval,
        )
        stack.callback(_delete_strategies, kubectl, options.namespace, operator, out)
        kubectl("apply", "-f", "-", input=yaml.safe_dump_all(strategies))
        _say(out, f"Applied {len(strategies)} NetworkStrategies from {options.examples}.\n")
        kubeconfig_hint = f"export KUBECONFIG={kubectl.kubeconfig}; " if kubectl.kubeconfig else ""
        header = (
            f"Try it: {kubeconfig_hint}kubectl get nstrat -n {options.namespace}\n"
            f"Operator log: {operator.log_path}  sandbox: {sandbox.url}"
        )
        _say(out, header + "\n")

        # 6. Progress until dormant (or Ctrl-C).
        return _watch(options, kubectl, sandbox, operator, stop, out, header)


def _watch(
    options: Options,
    kubectl: Kubectl,
    sandbox: Any,
    operator: OperatorProcess,
    stop: threading.Event,
    out: TextIO,
    header: str,
) -> int:
    started = time.monotonic()
    interactive = out.isatty()
    last_table = None
    announced_dormant = False
    while not stop.is_set():
        if not operator.alive():
            returncode = operator.process.returncode if operator.process is not None else None
            _say(
                out,
                f"\nThe operator exited with code {returncode}; its log ends with:\n{operator.log_tail()}",
            )
            return 1
        listing = kubectl("get", PLURAL, "--namespace", options.namespace, "-o", "json", check=False)
        resources = json.loads(listing.stdout)["items"] if listing.returncode == 0 else []
        counts = {r["spec"]["network"]: sandbox.state.network_status(r["spec"]["network"]) for r in resources}
        rows = progress_rows(resources, counts)
        table = render_table(rows)
        elapsed = time.monotonic() - started
        dormant_hint = ""
        if all_dormant(rows) and not options.exit_when_dormant:
            dormant_hint = (
                f"\nAll strategies are dormant: their networks need no more work. Wake one with\n"
                f"  kubectl annotate nstrat/<name> -n {options.namespace} "
                f'alchemiscale.org/wake="$(date +%s)" --overwrite\n'
                "or edit its spec; Ctrl-C stops everything."
            )
        if interactive:
            out.write(
                "\x1b[H\x1b[J"
                + f"strategy-operator demo — {elapsed:5.0f}s — Ctrl-C stops everything\n"
                + header
                + "\n\n"
                + table
                + "\n"
                + dormant_hint
                + "\n"
            )
            out.flush()
        elif table != last_table:
            _say(out, f"[{elapsed:5.0f}s]\n{table}\n")
        last_table = table
        if all_dormant(rows):
            if options.exit_when_dormant:
                _say(out, f"All {len(rows)} strategies are dormant after {elapsed:.0f}s.")
                return 0
            if not announced_dormant and not interactive:
                announced_dormant = True
                _say(out, dormant_hint)
        if options.timeout is not None and elapsed > options.timeout:
            _say(
                out,
                f"Timed out after {options.timeout:g}s before every strategy went dormant.\n"
                f"Operator log tail:\n{operator.log_tail()}",
            )
            return 1
        stop.wait(options.refresh)
    _say(out, "\nStopping: deleting the strategies, then the operator, the sandbox and the API server...")
    return 130


def _delete_strategies(kubectl: Kubectl, namespace: str, operator: OperatorProcess, out: TextIO) -> None:
    """Delete the demo's strategies while the operator runs, so it removes its finalizers."""
    if not operator.alive():
        # Nobody would remove the finalizers: strip them so the namespace can go.
        names = kubectl("get", PLURAL, "-n", namespace, "-o", "name", check=False).stdout.split()
        for name in names:
            kubectl(
                "patch", name, "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False
            )
    result = kubectl("delete", PLURAL, "--all", "-n", namespace, "--timeout=30s", check=False, timeout=45)
    if result.returncode != 0:
        _say(out, f"warning: deleting the demo strategies: {result.stderr.strip()}")


def _cycle(items: tuple[Any, ...]) -> Iterator[Any]:
    while True:
        yield from items


def _rendered_crd() -> str:
    from strategy_operator.api.crd import render_yaml

    return render_yaml()


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Run with parsed arguments (from `strategy-operator-dev localrun`) or an argv list."""
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(
            prog="python -m strategy_operator_dev.localrun", description=__doc__.splitlines()[0]
        )
        add_arguments(parser)
        args = parser.parse_args(args)
    try:
        return run(options_from(args))
    except LocalRunError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
