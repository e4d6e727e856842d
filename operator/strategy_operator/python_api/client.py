"""alchemiscale's strategy calls for notebooks, on NetworkStrategy resources in Kubernetes.

    from strategy_operator.python_api import NetworkStrategyClient

    asc = NetworkStrategyClient(namespace="tyk2")          # your kubeconfig's current context
    asc.set_network_strategy(network_sk, strategy="ConnectivityStrategy", task_scaling="linear")
    state = asc.get_network_strategy_state(network_sk)
    print(state.status, state.iterations)

Same names, arguments and defaults as `AlchemiscaleClient`'s strategy methods (user guide,
"Automating Execution with a Strategy"); the objects written are the operator's
NetworkStrategy resources, validated by the same pydantic models as the CRD, so what is set
here is exactly what `kubectl get nstrat NAME -o yaml` shows.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from strategy_operator.api import GROUP, KIND, PLURAL, VERSION, WAKE_ANNOTATION
from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus, StrategySpec
from strategy_operator.python_api.errors import (
    AmbiguousNetworkStrategy,
    ClusterUnreachable,
    CRDNotInstalled,
    Forbidden,
    InvalidNetworkStrategy,
    NetworkStrategyError,
    NetworkStrategyNotFound,
    Unauthorized,
)
from strategy_operator.scopedkey import InvalidScopedKey, parse_network_key
from strategy_operator.validation import describe

T = TypeVar("T")
NAME_LIMIT = 63  # a DNS label: also usable as a label value
# Re-read and retry a replace that lost a race with another writer (HTTP 409) this often.
CONFLICT_RETRIES = 5
_UNSET: Any = object()


@dataclass(frozen=True)
class NetworkStrategyState:
    """What upstream's `StrategyState` holds, read from the resource.

    Before the operator's first pass over a new resource, the state is upstream's initial
    one: awake, 0 iterations, never run.
    """

    status: str
    iterations: int
    last_iteration: datetime | None
    last_iteration_result_count: int
    exception: tuple[str, str] | None
    """(type name, message), as upstream's state stores it."""
    traceback: str | None
    mode: str
    task_scaling: str
    max_tasks_per_transformation: int
    sleep_interval: int


@dataclass(frozen=True)
class NetworkStrategyResource:
    """One NetworkStrategy as stored: where it is, its spec, and the operator's status."""

    name: str
    namespace: str
    spec: NetworkStrategySpec
    status: NetworkStrategyStatus
    annotations: Mapping[str, str]
    metadata: Mapping[str, Any]


def resource_name(network: str) -> str:
    """The NetworkStrategy name used when none is given: deterministic, a valid DNS label.

    `<org>-<campaign>-<project>-<first 12 hex digits of the SHA-256 of the key>`, lower
    case, `_` as `-`, the scope part shortened to keep within 63 characters.
    """
    key = _network_key(network)
    scope = key.scope
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:12]
    readable = re.sub(r"[^a-z0-9-]+", "-", f"{scope.org}-{scope.campaign}-{scope.project}".lower().replace("_", "-"))
    readable = re.sub(r"-{2,}", "-", readable).strip("-")[: NAME_LIMIT - len(digest) - 1].rstrip("-")
    return f"{readable}-{digest}" if readable else f"network-{digest}"


def _network_key(network: Any):
    try:
        return parse_network_key(str(network))
    except InvalidScopedKey as exc:
        raise InvalidNetworkStrategy(f"network: {exc}") from None


def strategy_spec(strategy: Any, settings: Mapping[str, Any] | None = None) -> StrategySpec:
    """A NetworkStrategy's `spec.strategy` from what the caller passed.

    Accepted: a built-in name (`"ConnectivityStrategy"`) with `settings` (a dict of
    stratocaster's keys, or None for the defaults); `{"name": ..., "settings": {...}}`; a
    `StrategySpec`; or a stratocaster Strategy object such as
    `ConnectivityStrategy(ConnectivityStrategy.default_settings())`.
    """
    if isinstance(strategy, StrategySpec):
        document: dict[str, Any] = strategy.model_dump(exclude_none=True)
    elif isinstance(strategy, str):
        document = {"name": strategy}
    elif isinstance(strategy, Mapping):
        document = dict(strategy)
    elif _is_stratocaster_strategy(strategy):
        document = {
            "name": type(strategy).__name__,
            "settings": strategy.settings.model_dump(mode="json", exclude_none=True),
        }
    else:
        raise InvalidNetworkStrategy(
            f"strategy: expected a strategy name, a {{'name', 'settings'}} dict or a stratocaster Strategy, "
            f"not {type(strategy).__name__}"
        )
    if settings is not None:
        if "settings" in document:
            raise InvalidNetworkStrategy("settings: given twice (in the strategy and as settings=)")
        document["settings"] = dict(settings)
    try:
        return StrategySpec.model_validate(document)
    except ValidationError as exc:
        raise InvalidNetworkStrategy(f"strategy.{describe(exc)}") from None


def _is_stratocaster_strategy(value: Any) -> bool:
    try:
        from stratocaster.base import Strategy
    except ImportError:
        return False
    return isinstance(value, Strategy)


class NetworkStrategyClient:
    """The strategy half of `AlchemiscaleClient`, over the Kubernetes API.

    `namespace`: where the NetworkStrategies live (default: the kubeconfig context's
    namespace, else `default`). `kubeconfig`/`context`: which cluster and identity (default:
    `$KUBECONFIG` or `~/.kube/config` and its current context; inside a pod, its
    ServiceAccount). `api_client`: an already configured `kubernetes.client.ApiClient`.
    """

    def __init__(
        self,
        namespace: str | None = None,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        api_client: Any = None,
    ) -> None:
        from kubernetes import client, config

        if api_client is None:
            try:
                api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
                default_namespace = _context_namespace(config, kubeconfig, context)
            except (config.ConfigException, OSError) as exc:
                if kubeconfig is None and context is None:
                    try:
                        config.load_incluster_config()
                    except config.ConfigException:
                        raise ClusterUnreachable(
                            f"no cluster configured: {exc}; set KUBECONFIG or pass kubeconfig="
                        ) from None
                    api_client = client.ApiClient()
                    default_namespace = _incluster_namespace()
                else:
                    raise ClusterUnreachable(f"cannot load the kubeconfig: {exc}") from None
        else:
            default_namespace = "default"
        # Fail fast on a dead cluster: urllib3's default retries would hide it for seconds.
        api_client.configuration.retries = 1
        self.api_client = api_client
        self.namespace = namespace or default_namespace
        self._objects = client.CustomObjectsApi(api_client)

    def __enter__(self) -> NetworkStrategyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.api_client.close()

    # -- the user guide's calls ------------------------------------------------------------

    def set_network_strategy(
        self,
        network: Any,
        strategy: Any = _UNSET,
        max_tasks_per_transformation: int = 3,
        task_scaling: str = "exponential",
        mode: str = "partial",
        sleep_interval: int = 3600,
        *,
        settings: Mapping[str, Any] | None = None,
        namespace: str | None = None,
        name: str | None = None,
        server: Mapping[str, Any] | None = _UNSET,
        cancel_tasks_on_delete: bool = _UNSET,
        take_over_server_strategy: bool = _UNSET,
    ) -> str | None:
        """Create or replace the network's NetworkStrategy; the resource's name.

        As upstream, every call sets the whole strategy: omitted arguments take their
        defaults (partial, exponential, 3 tasks, 3600 s), they do not keep earlier values.
        `server` (`{"url": ..., "credentialsSecret": ...}`), `cancel_tasks_on_delete` and
        `take_over_server_strategy`, which upstream has no counterpart for, keep their values
        unless given.
        `strategy=None` removes the strategy (deletes the resource), as upstream.
        `name` (default: derived from the network, `resource_name`) is used when creating.
        """
        if strategy is _UNSET:
            raise InvalidNetworkStrategy("strategy: required (a strategy, or None to remove the network's strategy)")
        if strategy is None:
            self.delete_network_strategy(network, namespace=namespace, missing_ok=True)
            return None
        namespace = namespace or self.namespace
        key = str(_network_key(network))
        fields: dict[str, Any] = {
            "network": key,
            "strategy": strategy_spec(strategy, settings).model_dump(exclude_none=True),
            "mode": mode,
            "task_scaling": task_scaling,
            "max_tasks_per_transformation": max_tasks_per_transformation,
            "sleep_interval": sleep_interval,
        }
        kept = (
            ("server", server),
            ("cancel_tasks_on_delete", cancel_tasks_on_delete),
            ("take_over_server_strategy", take_over_server_strategy),
        )
        for fields_key, value in kept:
            if value is not _UNSET:
                fields[fields_key] = value
        spec = self._spec(fields)

        for _ in range(CONFLICT_RETRIES):
            existing = self._find(key, namespace)
            if existing is None:
                created = self._create(spec, namespace, name or resource_name(key))
                if created is not None:
                    return created
                continue  # someone created one for this network meanwhile: replace it
            if name is not None and existing.name != name:
                raise AmbiguousNetworkStrategy(
                    f"network {key} already has NetworkStrategy {namespace}/{existing.name}; "
                    f"pass name={existing.name!r}, or delete it first"
                )
            merged = {**existing.spec.model_dump(exclude_none=True), **fields}
            # PUT replaces the metadata too: send it back whole (finalizers, annotations, labels).
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "metadata": dict(existing.metadata),
                "spec": _spec_document(self._spec(merged)),
            }
            replace = functools.partial(
                self._objects.replace_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, existing.name, body
            )
            replaced = self._call(
                replace,
                what=f"update {namespace}/{existing.name}",
                conflict_ok=True,
            )
            if replaced is not None:
                return existing.name
        raise AmbiguousNetworkStrategy(
            f"network {key}: its NetworkStrategy in {namespace} kept changing while being set; try again"
        )

    def get_network_strategy(self, network: Any, *, namespace: str | None = None) -> StrategySpec | None:
        """The network's strategy (name and settings), or None when it has none."""
        resource = self._find(str(_network_key(network)), namespace or self.namespace)
        return None if resource is None else resource.spec.strategy

    def get_network_strategy_state(self, network: Any, *, namespace: str | None = None) -> NetworkStrategyState | None:
        """The strategy's state (status, iterations, last iteration, error), or None when it has none."""
        resource = self._find(str(_network_key(network)), namespace or self.namespace)
        if resource is None:
            return None
        status, spec = resource.status, resource.spec
        return NetworkStrategyState(
            status=status.status.value if status.status is not None else "awake",
            iterations=status.iterations or 0,
            last_iteration=status.last_iteration,
            last_iteration_result_count=status.last_iteration_result_count or 0,
            exception=(status.exception.type, status.exception.message) if status.exception else None,
            traceback=status.traceback,
            mode=spec.mode.value,
            task_scaling=spec.task_scaling.value,
            max_tasks_per_transformation=spec.max_tasks_per_transformation,
            sleep_interval=spec.sleep_interval,
        )

    def get_network_strategy_status(self, network: Any, *, namespace: str | None = None) -> str | None:
        """`'awake'`, `'dormant'` or `'error'`; None when the network has no strategy."""
        state = self.get_network_strategy_state(network, namespace=namespace)
        return None if state is None else state.status

    def set_network_strategy_awake(self, network: Any, *, namespace: str | None = None) -> str | None:
        """Wake a dormant strategy, or resume one in error: the operator's wake annotation.

        Returns the network's scoped key (as upstream), None when the network has no strategy.
        The operator acts on it at its next pass (every `operator.tick` seconds).
        """
        namespace = namespace or self.namespace
        key = str(_network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            return None
        token = f"{time.time_ns()}"
        patch = {"metadata": {"annotations": {WAKE_ANNOTATION: token}}}
        self._call(
            lambda: self._objects.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, resource.name, patch, _content_type="application/merge-patch+json"
            ),
            what=f"annotate {namespace}/{resource.name}",
        )
        return key

    def delete_network_strategy(
        self, network: Any, *, namespace: str | None = None, missing_ok: bool = False
    ) -> str | None:
        """Remove the network's strategy (delete its NetworkStrategy); the deleted resource's name.

        With `spec.cancelTasksOnDelete` the operator first un-actions the network's tasks.
        """
        namespace = namespace or self.namespace
        key = str(_network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            if missing_ok:
                return None
            raise NetworkStrategyNotFound(f"network {key} has no NetworkStrategy in namespace {namespace}")
        self._call(
            lambda: self._objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, resource.name),
            what=f"delete {namespace}/{resource.name}",
            missing_ok=True,
        )
        return resource.name

    # -- beyond upstream ---------------------------------------------------------------------

    def get_network_strategy_resource(self, network: Any, *, namespace: str | None = None) -> NetworkStrategyResource:
        """The whole resource (spec, status, annotations); NetworkStrategyNotFound when there is none."""
        namespace = namespace or self.namespace
        key = str(_network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            raise NetworkStrategyNotFound(f"network {key} has no NetworkStrategy in namespace {namespace}")
        return resource

    def list_network_strategies(self, *, namespace: str | None = None) -> list[NetworkStrategyResource]:
        namespace = namespace or self.namespace
        listing = self._call(
            lambda: self._objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL),
            what=f"list NetworkStrategies in {namespace}",
            listing=True,
        )
        return [_resource(item) for item in _mapping(listing).get("items", [])]

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _spec(fields: Mapping[str, Any]) -> NetworkStrategySpec:
        try:
            return NetworkStrategySpec.model_validate(dict(fields))
        except ValidationError as exc:
            raise InvalidNetworkStrategy(describe(exc)) from None

    def _find(self, network: str, namespace: str) -> NetworkStrategyResource | None:
        matches = [r for r in self.list_network_strategies(namespace=namespace) if r.spec.network == network]
        if len(matches) > 1:
            names = ", ".join(sorted(r.name for r in matches))
            raise AmbiguousNetworkStrategy(
                f"network {network} has {len(matches)} NetworkStrategies in namespace {namespace} ({names}); "
                "they would work against each other: delete all but one (kubectl delete nstrat NAME)"
            )
        return matches[0] if matches else None

    def _create(self, spec: NetworkStrategySpec, namespace: str, name: str) -> str | None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "metadata": {"name": name, "namespace": namespace},
            "spec": _spec_document(spec),
        }
        created = self._call(
            lambda: self._objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body),
            what=f"create {namespace}/{name}",
            conflict_ok=True,
        )
        if created is not None:
            return name
        raw = self._call(
            lambda: self._objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
            what=f"get {namespace}/{name}",
            missing_ok=True,
        )
        taken_by = _mapping(_mapping(raw).get("spec")).get("network")
        if raw is not None and taken_by != spec.network:
            raise AmbiguousNetworkStrategy(
                f"NetworkStrategy {namespace}/{name} already exists for network {taken_by}; pass another name="
            )
        return None

    def _call(
        self,
        request: Callable[[], T],
        *,
        what: str,
        listing: bool = False,
        conflict_ok: bool = False,
        missing_ok: bool = False,
    ) -> T | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        host = self.api_client.configuration.host
        try:
            return request()
        except ApiException as exc:
            message = _api_message(exc)
            if exc.status == 401:
                raise Unauthorized(f"{host} did not accept the kubeconfig's credentials: {message}") from None
            if exc.status == 403:
                raise Forbidden(f"cannot {what}: {message}") from None
            if exc.status == 404 and listing:
                raise CRDNotInstalled(
                    f"{host} has no {KIND} resources ({PLURAL}.{GROUP}/{VERSION}): install the operator's chart "
                    "or its CRD (crds/networkstrategies.yaml)"
                ) from None
            if exc.status == 404 and missing_ok:
                return None
            if exc.status == 409 and conflict_ok:
                return None
            if exc.status in (400, 422):
                raise InvalidNetworkStrategy(f"cannot {what}: {message}") from None
            if exc.status == 0 or exc.status is None:
                raise ClusterUnreachable(f"cannot {what}: {host} does not answer ({exc.reason})") from None
            # e.g. 404 for a namespace that does not exist, 5xx from the API server
            raise NetworkStrategyError(f"cannot {what}: HTTP {exc.status}: {message}") from None
        except HTTPError as exc:
            raise ClusterUnreachable(f"cannot {what}: {host} does not answer ({type(exc).__name__}: {exc})") from None


def _mapping(value: object) -> Mapping[str, Any]:
    """The kubernetes client's untyped JSON answers, as the objects they are (None: empty)."""
    return value if isinstance(value, Mapping) else {}


def _spec_document(spec: NetworkStrategySpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _resource(item: Mapping[str, Any]) -> NetworkStrategyResource:
    metadata = item.get("metadata", {})
    return NetworkStrategyResource(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        spec=NetworkStrategySpec.model_validate(item.get("spec", {})),
        status=NetworkStrategyStatus.model_validate(item.get("status") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        metadata=dict(metadata),
    )


def _api_message(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body)
        return str(body.get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)


def _context_namespace(config: Any, kubeconfig: str | None, context: str | None) -> str:
    contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    return ((chosen or {}).get("context") or {}).get("namespace") or "default"


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"
