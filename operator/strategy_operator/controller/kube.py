"""The operator's one client of the Kubernetes API (besides Kopf's own watch connection).

Three calls: read a credentials Secret (`SecretReader`), merge-patch a NetworkStrategy's
status subresource (`StatusWriter`) and list the watched NetworkStrategies once, to find each
network's owner (`ResourceLister`). All use one `kubernetes` ApiClient, configured once
(in-cluster service account, else KUBECONFIG), and run the synchronous client in a thread so
the event loop never blocks on it.

The status is written here rather than through Kopf's `patch`: Kopf applies a timer's patch
after the handler returns, and when the API server refuses it (an admission policy or
webhook, a schema mismatch: a 422; a 403) the resource's timer ends for good, silently
(docs/operator.md, "One pass", step 5). Written here, a refusal can be logged, reported and
survived.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

from strategy_operator.api import GROUP, PLURAL, VERSION
from strategy_operator.controller.secrets import (
    CredentialsSecretForbidden,
    CredentialsSecretNotFound,
    CredentialsSecretUnavailable,
    SecretCredentials,
    parse_secret_data,
)

_api_client: Any = None
_api_client_lock = threading.Lock()


def api_client() -> Any:
    """The operator's `kubernetes.client.ApiClient`, configured on first use."""
    global _api_client
    with _api_client_lock:
        if _api_client is None:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            _api_client = client.ApiClient()
        return _api_client


# (connect, read) seconds for every call: a frozen API server must fail the pass, not hang it.
REQUEST_TIMEOUT = (5.0, 15.0)


def _outer_bound(request_timeout: tuple[float, float]) -> float:
    # The thread is bounded by the request timeout; the outer bound covers a thread pool that
    # is itself starved, so the pass fails instead of waiting for it.
    return sum(request_timeout) + 5.0


class StatusWriteRefused(Exception):
    """The API server did not store the status; the message says why."""


class StatusWriteUnanswered(StatusWriteRefused):
    """The API server did not answer (unreachable, frozen, timed out)."""


def _reason(exc: Any) -> str:
    """The API server's own explanation from an ApiException, else its status line."""
    try:
        message = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return f"{exc.status} {exc.reason}: {message}" if message else f"{exc.status} {exc.reason}"


class SecretReader:
    """Reads credential Secrets (`api`: a CoreV1Api; default: one over the operator's ApiClient)."""

    def __init__(self, api: Any | None = None, request_timeout: tuple[float, float] = REQUEST_TIMEOUT) -> None:
        self._api = api
        self._request_timeout = request_timeout

    def _read_sync(self, namespace: str, name: str) -> SecretCredentials:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        if self._api is None:
            self._api = client.CoreV1Api(api_client())
        try:
            secret = self._api.read_namespaced_secret(name, namespace, _request_timeout=self._request_timeout)
        except ApiException as exc:
            if exc.status == 404:
                raise CredentialsSecretNotFound(f"credentials Secret {namespace}/{name} does not exist") from None
            if exc.status == 403:
                raise CredentialsSecretForbidden(
                    f"the operator may not read credentials Secret {namespace}/{name} (RBAC)"
                ) from None
            if exc.status is not None and (exc.status >= 500 or exc.status == 429):
                raise CredentialsSecretUnavailable(
                    f"could not read credentials Secret {namespace}/{name}: "
                    f"the Kubernetes API answered {exc.status} {exc.reason}"
                ) from None
            raise
        except HTTPError as exc:
            raise CredentialsSecretUnavailable(
                f"could not read credentials Secret {namespace}/{name}: the Kubernetes API is unreachable "
                f"({type(exc).__name__})"
            ) from None
        annotations = (secret.metadata.annotations if secret.metadata is not None else None) or {}
        return parse_secret_data(secret.data or {}, f"{namespace}/{name}", annotations)

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        bound = _outer_bound(self._request_timeout)
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._read_sync, namespace, name), bound)
        except TimeoutError:
            raise CredentialsSecretUnavailable(
                f"could not read credentials Secret {namespace}/{name}: the Kubernetes API did not answer "
                f"within {bound:g} s"
            ) from None


class StatusWriter:
    """Merge-patches the status subresource (`api`: a CustomObjectsApi; default: one over the operator's ApiClient)."""

    def __init__(self, api: Any | None = None, request_timeout: tuple[float, float] = REQUEST_TIMEOUT) -> None:
        self._api = api
        self._request_timeout = request_timeout

    def _write_sync(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if self._api is None:
            self._api = client.CustomObjectsApi(api_client())
        try:
            self._api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                {"status": dict(status)},
                _content_type="application/merge-patch+json",
                _request_timeout=self._request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise StatusWriteRefused(
                f"the API server refused the status of {namespace}/{name}: {_reason(exc)}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - connection errors of urllib3 and the like
            raise StatusWriteUnanswered(
                f"the status of {namespace}/{name} could not be written: {type(exc).__name__}: {exc}"
            ) from None
        return True

    async def write(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patch `status` (None deletes a key); False when the resource no longer exists."""
        bound = _outer_bound(self._request_timeout)
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._write_sync, namespace, name, status), bound)
        except TimeoutError:
            raise StatusWriteUnanswered(
                f"the status of {namespace}/{name} could not be written: the Kubernetes API did not answer "
                f"within {bound:g} s"
            ) from None


class ResourceListUnanswered(Exception):
    """The API server did not answer a list of NetworkStrategies in time."""


class ResourceLister:
    """Lists the NetworkStrategies of the watched namespaces (`namespaces` empty: all of them)."""

    def __init__(
        self,
        namespaces: tuple[str, ...],
        api: Any | None = None,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> None:
        self._namespaces = namespaces
        self._api = api
        self._request_timeout = request_timeout

    def _list_sync(self) -> list[dict[str, Any]]:
        from kubernetes import client

        if self._api is None:
            self._api = client.CustomObjectsApi(api_client())
        pages: list[Any]
        if not self._namespaces:
            pages = [
                self._api.list_cluster_custom_object(GROUP, VERSION, PLURAL, _request_timeout=self._request_timeout)
            ]
        else:
            pages = [
                self._api.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, _request_timeout=self._request_timeout
                )
                for namespace in self._namespaces
            ]
        return [item for page in pages for item in page.get("items", [])]

    async def list(self) -> list[dict[str, Any]]:
        # One request per namespace, each bounded by the request timeout; the outer bound
        # covers them all and a starved thread pool.
        bound = _outer_bound(self._request_timeout) * max(1, len(self._namespaces))
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._list_sync), bound)
        except TimeoutError:
            raise ResourceListUnanswered(
                f"the NetworkStrategies could not be listed: the Kubernetes API did not answer within {bound:g} s"
            ) from None
