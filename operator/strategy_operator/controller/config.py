"""The operator's own settings: one command-line flag and one environment variable each.

A flag given on the command line wins over its environment variable, which wins over the
default. Every value is validated here, so a typo stops the operator at start-up with a
message naming the flag and the variable instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from strategy_operator.scopedkey import InvalidScopedKey, Scope

ENV_PREFIX = "STRATEGY_OPERATOR_"
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """An operator setting has an invalid value; the message names the flag and variable."""


@dataclass(frozen=True)
class OperatorConfig:
    min_sleep_interval: int = 300
    max_workers: int = 4
    namespaces: tuple[str, ...] = ()
    allowed_scopes: tuple[Scope, ...] = (Scope(),)
    default_server: str | None = None
    # Servers credentials may be sent to; empty means the default server alone (credentials_policy).
    allowed_servers: tuple[str, ...] = ()
    default_credentials_secret: str | None = None
    operator_namespace: str | None = None
    ca_bundle: str | None = None
    log_level: str = "info"
    http_port: int = 8080
    # How often each resource's timer wakes to see whether it is due; bounds the lateness of
    # an iteration and of a wake-up. Tests use about a second.
    tick: float = 10.0
    # The longest one iteration may take (HTTP and compute) before it is abandoned as transient.
    iteration_timeout: float = 600.0
    # /healthz fails once a due resource has gone this long without being iterated.
    liveness_grace: float = 900.0
    # Every network's results are re-read in full this often (and on every wake), so a late
    # result the snapshotter's change inference missed is counted within one interval.
    resync_interval: float = 10800.0
    # The most tasks one iteration of one resource creates; a larger plan is spread over the
    # next iterations (run at the next tick) instead of sent at once.
    max_tasks_created_per_iteration: int = 1000
    # Replicas elect one leader through a coordination.k8s.io Lease (see leader.py).
    leader_election: bool = False
    leader_election_lease: str = "alchemiscale-strategy-operator"
    leader_election_lease_duration: float = 15.0
    # Strategy classes a resource may name by import path (exact paths, or prefixes ending .*).
    allowed_strategies: tuple[str, ...] = ("stratocaster.strategies.*",)
    # ProtocolDAGResults kept decoded for strategies named by import path (stratocaster adapter).
    result_cache_entries: int = 20_000

    @property
    def all_namespaces(self) -> bool:
        return not self.namespaces

    def scope_allowed(self, scope: Scope) -> bool:
        return any(allowed.covers(scope) for allowed in self.allowed_scopes)


@dataclass(frozen=True)
class _Option:
    flag: str
    env: str
    help: str


_OPTIONS: dict[str, _Option] = {
    "min_sleep_interval": _Option(
        "--min-sleep-interval",
        "MIN_SLEEP_INTERVAL",
        "lower bound in seconds on every resource's sleepInterval (default 300)",
    ),
    "max_workers": _Option(
        "--max-workers", "MAX_WORKERS", "iterations run concurrently across all resources (default 4)"
    ),
    "namespaces": _Option(
        "--namespace", "NAMESPACES", "namespace to watch; repeatable (env: comma-separated); default all namespaces"
    ),
    "allowed_scopes": _Option(
        "--allowed-scopes",
        "ALLOWED_SCOPES",
        "comma-separated alchemiscale scopes networks must fall in (default *-*-*)",
    ),
    "default_server": _Option(
        "--default-server", "DEFAULT_SERVER", "alchemiscale URL for resources without spec.server.url"
    ),
    "allowed_servers": _Option(
        "--allowed-servers",
        "ALLOWED_SERVERS",
        "comma-separated alchemiscale URLs resources may name in spec.server.url (default: the default server only)",
    ),
    "default_credentials_secret": _Option(
        "--default-credentials-secret",
        "DEFAULT_CREDENTIALS_SECRET",
        "Secret (keys identifier, key) in the operator's namespace used "
        "for resources without spec.server.credentialsSecret",
    ),
    "operator_namespace": _Option(
        "--operator-namespace", "NAMESPACE", "namespace the operator runs in (holds the default credentials Secret)"
    ),
    "ca_bundle": _Option("--ca-bundle", "CA_BUNDLE", "PEM file of CAs to trust for alchemiscale HTTPS"),
    "log_level": _Option("--log-level", "LOG_LEVEL", "debug, info, warning or error (default info)"),
    "http_port": _Option("--http-port", "HTTP_PORT", "port of /metrics, /healthz and /readyz (default 8080; 0 = off)"),
    "leader_election": _Option(
        "--leader-election",
        "LEADER_ELECTION",
        "elect one active replica through a coordination.k8s.io Lease in the operator's namespace "
        "(true/false; default false)",
    ),
    "leader_election_lease": _Option(
        "--leader-election-lease",
        "LEADER_ELECTION_LEASE",
        "name of the Lease in the operator's namespace replicas elect their leader "
        "with (default alchemiscale-strategy-operator)",
    ),
    "leader_election_lease_duration": _Option(
        "--leader-election-lease-duration",
        "LEADER_ELECTION_LEASE_DURATION",
        "seconds a standby waits for an unrenewed Lease before it takes over (default 15)",
    ),
    "tick": _Option("--tick", "TICK", "seconds between checks whether a resource is due (default 10)"),
    "iteration_timeout": _Option(
        "--iteration-timeout", "ITERATION_TIMEOUT", "seconds after which one iteration is abandoned (default 600)"
    ),
    "allowed_strategies": _Option(
        "--allowed-strategies",
        "ALLOWED_STRATEGIES",
        "comma-separated Strategy import paths, or prefixes ending .*, that resources may "
        "name in spec.strategy.name (default stratocaster.strategies.*; empty: none)",
    ),
    "result_cache_entries": _Option(
        "--result-cache-entries",
        "RESULT_CACHE_ENTRIES",
        "ProtocolDAGResults kept decoded in memory for strategies named by import path (default 20000)",
    ),
    "liveness_grace": _Option(
        "--liveness-grace", "LIVENESS_GRACE", "seconds a due resource may wait before /healthz fails (default 900)"
    ),
    "resync_interval": _Option(
        "--resync-interval", "RESYNC_INTERVAL", "seconds between full re-reads of a network's results (default 10800)"
    ),
    "max_tasks_created_per_iteration": _Option(
        "--max-tasks-created-per-iteration",
        "MAX_TASKS_CREATED_PER_ITERATION",
        "the most tasks one iteration of one resource creates; the rest waits for the next iterations (default 1000)",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every operator flag; values stay None when absent so the environment can fill them."""
    for name, option in _OPTIONS.items():
        help_text = f"{option.help} [env {ENV_PREFIX}{option.env}]"
        if name == "namespaces":
            parser.add_argument(option.flag, dest=name, action="append", default=None, help=help_text)
        elif name == "leader_election":
            continue  # a switch, added below with its opposite
        else:
            parser.add_argument(option.flag, dest=name, default=None, help=help_text)
    parser.add_argument(
        "--all-namespaces",
        "-A",
        dest="all_namespaces",
        action="store_true",
        help="watch every namespace (the default when no namespace is given)",
    )
    parser.add_argument(
        "--standalone",
        dest="leader_election",
        action="store_const",
        const="false",
        help="run without leader election (the default; run one replica)",
    )
    parser.add_argument(
        "--leader-election",
        "--peering",
        dest="leader_election",
        action="store_const",
        const="true",
        help="elect one active replica through a coordination.k8s.io Lease in the operator's "
        f"namespace [env {ENV_PREFIX}LEADER_ELECTION=true]",
    )


def _raw(args: argparse.Namespace | None, environ: Mapping[str, str], name: str) -> tuple[object, str] | None:
    """The raw value and where it came from, or None when neither flag nor variable is set."""
    option = _OPTIONS[name]
    value = getattr(args, name, None) if args is not None else None
    if value is not None:
        return value, option.flag
    env_name = ENV_PREFIX + option.env
    if environ.get(env_name, "").strip():
        return environ[env_name].strip(), env_name
    return None


def _raw_allowing_empty(
    args: argparse.Namespace | None, environ: Mapping[str, str], name: str
) -> tuple[object, str] | None:
    """Like `_raw`, but a variable set to an empty string counts (an empty allow-list)."""
    option = _OPTIONS[name]
    value = getattr(args, name, None) if args is not None else None
    if value is not None:
        return value, option.flag
    env_name = ENV_PREFIX + option.env
    if env_name in environ:
        return environ[env_name].strip(), env_name
    return None


def _number(raw: object, where: str, *, minimum: float, integer: bool) -> float:
    try:
        value = int(str(raw)) if integer else float(str(raw))
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SettingsError(f"{where}: {raw!r} is not {kind}") from None
    if not math.isfinite(value) or value < minimum:
        raise SettingsError(f"{where}: {raw!r} must be at least {minimum:g}")
    return value


def _url(raw: str, where: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{where}: {raw!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise SettingsError(f"{where}: put credentials in a Secret, not in the URL")
    return raw.rstrip("/")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _port(raw: object, where: str) -> int:
    port = int(_number(raw, where, minimum=0, integer=True))
    if port > 65535:
        raise SettingsError(f"{where}: {raw!r} is not a TCP port")
    return port


def _scopes(raw: object, where: str) -> tuple[Scope, ...]:
    scopes = []
    for text in _split(str(raw)):
        try:
            scopes.append(Scope.from_str(text))
        except InvalidScopedKey as exc:
            raise SettingsError(f"{where}: {exc}") from None
    if not scopes:
        raise SettingsError(f"{where}: give at least one scope (use *-*-* for all)")
    return tuple(scopes)


def _ca_bundle(raw: object, where: str) -> str:
    path = str(raw)
    if not os.path.isfile(path):
        raise SettingsError(f"{where}: CA bundle {path!r} is not a readable file")
    return path


def _allowed_servers(raw: object, where: str) -> tuple[str, ...]:
    servers = [_url(text, where) for text in _split(str(raw))]
    if not servers:
        raise SettingsError(f"{where}: give at least one http(s) URL")
    return tuple(dict.fromkeys(servers))


def _switch(raw: object, where: str) -> bool:
    text = str(raw).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingsError(f"{where}: {raw!r} is not true or false")
    return text in ("true", "1", "yes")


def _log_level(raw: object, where: str) -> str:
    level = str(raw).strip().lower()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{where}: {raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


# How each option's raw text (flag or environment variable) becomes its value; `where` names
# the flag or variable in every error. `namespaces` is handled apart: it meets --all-namespaces.
def _allowed_strategies(raw: object, where: str) -> tuple[str, ...]:
    from strategy_operator.stratocaster.loading import AllowedStrategies

    try:
        return AllowedStrategies.parse(_split(str(raw))).entries
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None


_PARSERS: dict[str, Callable[[object, str], object]] = {
    "min_sleep_interval": lambda raw, where: int(_number(raw, where, minimum=1, integer=True)),
    "max_workers": lambda raw, where: int(_number(raw, where, minimum=1, integer=True)),
    "tick": lambda raw, where: _number(raw, where, minimum=0.1, integer=False),
    "iteration_timeout": lambda raw, where: _number(raw, where, minimum=1, integer=False),
    "liveness_grace": lambda raw, where: _number(raw, where, minimum=1, integer=False),
    "resync_interval": lambda raw, where: _number(raw, where, minimum=1, integer=False),
    "max_tasks_created_per_iteration": lambda raw, where: int(_number(raw, where, minimum=1, integer=True)),
    "http_port": _port,
    "allowed_scopes": _scopes,
    "default_server": lambda raw, where: _url(str(raw).strip(), where),
    "allowed_servers": _allowed_servers,
    "default_credentials_secret": lambda raw, where: str(raw).strip(),
    "operator_namespace": lambda raw, where: str(raw).strip(),
    "ca_bundle": _ca_bundle,
    "log_level": _log_level,
    "result_cache_entries": lambda raw, where: int(_number(raw, where, minimum=1, integer=True)),
    "leader_election": _switch,
    "leader_election_lease": lambda raw, where: str(raw).strip(),
    "leader_election_lease_duration": lambda raw, where: _number(raw, where, minimum=1, integer=False),
}


def _namespaces(args: argparse.Namespace | None, found: tuple[object, str] | None) -> tuple[str, ...] | None:
    """The namespaces to watch; None means all (`--all-namespaces`, or none given)."""
    all_namespaces = bool(getattr(args, "all_namespaces", False))
    if found is None:
        return None
    value = found[0]
    names = [n for item in (value if isinstance(value, list) else [value]) for n in _split(str(item))]
    if all_namespaces and getattr(args, "namespaces", None):
        raise SettingsError("--all-namespaces and --namespace exclude each other")
    return None if all_namespaces else tuple(dict.fromkeys(names))


def from_arguments(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> OperatorConfig:
    """Build validated settings from parsed flags and the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, parse in _PARSERS.items():
        if (found := _raw(args, environ, name)) is not None:
            values[name] = parse(*found)
    namespaces = _namespaces(args, _raw(args, environ, "namespaces"))
    if namespaces is not None:
        values["namespaces"] = namespaces
    # An empty variable means an empty allow-list here, so it is read apart from _PARSERS.
    if (found := _raw_allowing_empty(args, environ, "allowed_strategies")) is not None:
        values["allowed_strategies"] = _allowed_strategies(*found)
    if "default_credentials_secret" in values and "operator_namespace" not in values:
        namespace = _service_account_namespace()
        if namespace is None:
            raise SettingsError(
                "--default-credentials-secret needs --operator-namespace "
                f"({ENV_PREFIX}NAMESPACE) when not running in a pod"
            )
        values["operator_namespace"] = namespace
    if values.get("leader_election") and "operator_namespace" not in values:
        namespace = _service_account_namespace()
        if namespace is None:
            raise SettingsError(
                f"--leader-election needs --operator-namespace ({ENV_PREFIX}NAMESPACE), where its Lease lives, "
                "when not running in a pod"
            )
        values["operator_namespace"] = namespace
    return OperatorConfig(**values)  # type: ignore[arg-type]


def _service_account_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None
