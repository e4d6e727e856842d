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
import time
from collections.abc import Mapping
from typing import Any

from strategy_operator.api import GROUP, KIND, PLURAL, VERSION, WAKE_ANNOTATION
from strategy_operator.api.v1alpha1 import NetworkStrategySpec, StrategySpec
from strategy_operator.python_api.calls import call
from strategy_operator.python_api.connection import connect
from strategy_operator.python_api.errors import (
    AmbiguousNetworkStrategy,
    InvalidNetworkStrategy,
    NetworkStrategyNotFound,
)
from strategy_operator.python_api.resources import (
    NetworkStrategyResource,
    NetworkStrategyState,
    as_mapping,
    resource_from_item,
    strategy_state,
)
from strategy_operator.python_api.spec import network_key, resource_name, spec_document, strategy_spec, validated_spec

# Re-read and retry a replace that lost a race with another writer (HTTP 409) this often.
CONFLICT_RETRIES = 5
_UNSET: Any = object()


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
        from kubernetes import client

        if api_client is None:
            api_client, default_namespace = connect(kubeconfig, context)
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

    @property
    def _host(self) -> str:
        return str(self.api_client.configuration.host)

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
        `strategy` is a name or import path (with `settings=`), or a stratocaster Strategy
        object carrying its settings (`spec.strategy_spec`).
        `strategy=None` removes the strategy (deletes the resource), as upstream.
        `name` (default: derived from the network, `resource_name`) is used when creating.
        """
        if strategy is _UNSET:
            raise InvalidNetworkStrategy("strategy: required (a strategy, or None to remove the network's strategy)")
        if strategy is None:
            self.delete_network_strategy(network, namespace=namespace, missing_ok=True)
            return None
        namespace = namespace or self.namespace
        key = str(network_key(network))
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
        spec = validated_spec(fields)

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
                "spec": spec_document(validated_spec(merged)),
            }
            replace = functools.partial(
                self._objects.replace_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, existing.name, body
            )
            replaced = call(
                replace,
                host=self._host,
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
        resource = self._find(str(network_key(network)), namespace or self.namespace)
        return None if resource is None else resource.spec.strategy

    def get_network_strategy_state(self, network: Any, *, namespace: str | None = None) -> NetworkStrategyState | None:
        """The strategy's state (status, iterations, last iteration, error), or None when it has none."""
        resource = self._find(str(network_key(network)), namespace or self.namespace)
        if resource is None:
            return None
        return strategy_state(resource)

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
        key = str(network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            return None
        token = f"{time.time_ns()}"
        patch = {"metadata": {"annotations": {WAKE_ANNOTATION: token}}}
        call(
            lambda: self._objects.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, resource.name, patch, _content_type="application/merge-patch+json"
            ),
            host=self._host,
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
        key = str(network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            if missing_ok:
                return None
            raise NetworkStrategyNotFound(f"network {key} has no NetworkStrategy in namespace {namespace}")
        call(
            lambda: self._objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, resource.name),
            host=self._host,
            what=f"delete {namespace}/{resource.name}",
            missing_ok=True,
        )
        return resource.name

    # -- beyond upstream ---------------------------------------------------------------------

    def get_network_strategy_resource(self, network: Any, *, namespace: str | None = None) -> NetworkStrategyResource:
        """The whole resource (spec, status, annotations); NetworkStrategyNotFound when there is none."""
        namespace = namespace or self.namespace
        key = str(network_key(network))
        resource = self._find(key, namespace)
        if resource is None:
            raise NetworkStrategyNotFound(f"network {key} has no NetworkStrategy in namespace {namespace}")
        return resource

    def list_network_strategies(self, *, namespace: str | None = None) -> list[NetworkStrategyResource]:
        namespace = namespace or self.namespace
        listing = call(
            lambda: self._objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL),
            host=self._host,
            what=f"list NetworkStrategies in {namespace}",
            listing=True,
        )
        return [resource_from_item(item) for item in as_mapping(listing).get("items", [])]

    # -- plumbing ----------------------------------------------------------------------------

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
            "spec": spec_document(spec),
        }
        created = call(
            lambda: self._objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body),
            host=self._host,
            what=f"create {namespace}/{name}",
            conflict_ok=True,
        )
        if created is not None:
            return name
        raw = call(
            lambda: self._objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
            host=self._host,
            what=f"get {namespace}/{name}",
            missing_ok=True,
        )
        taken_by = as_mapping(as_mapping(raw).get("spec")).get("network")
        if raw is not None and taken_by != spec.network:
            raise AmbiguousNetworkStrategy(
                f"NetworkStrategy {namespace}/{name} already exists for network {taken_by}; pass another name="
            )
        return None
