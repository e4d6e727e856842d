"""Writing a NetworkStrategy's status subresource ourselves rather than through Kopf's `patch`.

Kopf applies a timer's `patch` after the handler returns, and when the API server refuses
it (an admission policy or webhook, a schema mismatch: a 422; a 403) the resource's timer
ends for good, silently (docs/operator.md, "One pass", step 5). Written here, a refusal can be logged, reported
and survived. The synchronous `kubernetes` client runs in a thread, as for Secrets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from strategy_operator.api import GROUP, PLURAL, VERSION


class StatusWriteRefused(Exception):
    """The API server did not store the status; the message says why."""


def _load_api() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


def _reason(exc: Any) -> str:
    """The API server's own explanation from an ApiException, else its status line."""
    try:
        message = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return f"{exc.status} {exc.reason}: {message}" if message else f"{exc.status} {exc.reason}"


class StatusWriter:
    """Merge-patches the status subresource; one API client for the operator's lifetime."""

    def __init__(self, api: Any | None = None) -> None:
        self._api = api

    def _write_sync(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        from kubernetes.client.exceptions import ApiException

        if self._api is None:
            self._api = _load_api()
        try:
            self._api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                {"status": dict(status)},
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise StatusWriteRefused(
                f"the API server refused the status of {namespace}/{name}: {_reason(exc)}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - connection errors of urllib3 and the like
            raise StatusWriteRefused(
                f"the status of {namespace}/{name} could not be written: {type(exc).__name__}: {exc}"
            ) from None
        return True

    async def write(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patch `status` (None deletes a key); False when the resource no longer exists."""
        return await asyncio.to_thread(self._write_sync, namespace, name, status)
