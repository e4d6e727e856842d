"""Which cluster and namespace the Python API talks to: the kubeconfig's context, else the pod's ServiceAccount."""

from __future__ import annotations

from typing import Any

from strategy_operator.python_api.errors import ClusterUnreachable

SERVICEACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def connect(kubeconfig: str | None, context: str | None) -> tuple[Any, str]:
    """A `kubernetes.client.ApiClient` and its default namespace.

    From `kubeconfig` (default: `$KUBECONFIG` or `~/.kube/config`) and `context` (default: its
    current one); with neither given and no kubeconfig found, the pod's ServiceAccount.
    """
    from kubernetes import client, config

    try:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        return api_client, _context_namespace(config, kubeconfig, context)
    except (config.ConfigException, OSError) as exc:
        if kubeconfig is not None or context is not None:
            raise ClusterUnreachable(f"cannot load the kubeconfig: {exc}") from None
        try:
            config.load_incluster_config()
        except config.ConfigException:
            raise ClusterUnreachable(f"no cluster configured: {exc}; set KUBECONFIG or pass kubeconfig=") from None
        return client.ApiClient(), _incluster_namespace()


def _context_namespace(config: Any, kubeconfig: str | None, context: str | None) -> str:
    contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    return ((chosen or {}).get("context") or {}).get("namespace") or "default"


def _incluster_namespace() -> str:
    try:
        with open(SERVICEACCOUNT_NAMESPACE, encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"
