"""Reading alchemiscale credentials from Kubernetes Secrets (keys `identifier` and `key`).

The synchronous `kubernetes` client runs in a thread so the event loop never blocks on it.
Values are decoded here and handed straight to the alchemiscale client; they are never
logged, and errors name the Secret, never its contents.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass
from typing import Any

CREDENTIAL_KEYS = ("identifier", "key")


class CredentialsSecretError(Exception):
    """The credentials Secret cannot be used; the resource goes to status error."""


class CredentialsSecretNotFound(CredentialsSecretError):
    pass


class CredentialsSecretInvalid(CredentialsSecretError):
    pass


class CredentialsSecretForbidden(CredentialsSecretError):
    pass


class CredentialsSecretUnavailable(Exception):
    """The Kubernetes API could not be asked for the Secret (unreachable, 5xx, 429): retry later."""


@dataclass(frozen=True)
class SecretCredentials:
    identifier: str
    key: str

    def __repr__(self) -> str:
        return f"SecretCredentials(identifier={self.identifier!r}, key=***)"

    __str__ = __repr__


def _load_api() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CoreV1Api()


class SecretReader:
    """Reads credential Secrets; one API client for the operator's lifetime."""

    def __init__(self, api: Any | None = None) -> None:
        self._api = api

    def _read_sync(self, namespace: str, name: str) -> SecretCredentials:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        if self._api is None:
            self._api = _load_api()
        try:
            secret = self._api.read_namespaced_secret(name, namespace)
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
        return parse_secret_data(secret.data or {}, f"{namespace}/{name}")

    async def read(self, namespace: str, name: str) -> SecretCredentials:
        return await asyncio.to_thread(self._read_sync, namespace, name)


def parse_secret_data(data: dict[str, str], where: str) -> SecretCredentials:
    """Decode the base64 `data` of a Secret into credentials, naming any missing key."""
    values = {}
    for key in CREDENTIAL_KEYS:
        encoded = data.get(key)
        if not encoded:
            raise CredentialsSecretInvalid(
                f"credentials Secret {where} has no {key!r} key (it needs 'identifier' and 'key')"
            )
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsSecretInvalid(f"credentials Secret {where}: {key!r} is not valid UTF-8 base64") from None
        if not values[key]:
            raise CredentialsSecretInvalid(f"credentials Secret {where}: {key!r} is empty")
    return SecretCredentials(values["identifier"], values["key"])
