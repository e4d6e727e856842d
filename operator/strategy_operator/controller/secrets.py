"""alchemiscale credentials in Kubernetes Secrets (keys `identifier` and `key`): their errors and decoding.

A Secret also says which servers its key may be sent to (`credentials_policy`): the
annotation `alchemiscale.org/servers` or the data key `server`.

`kube.SecretReader` fetches the Secret; its data is decoded here and handed straight to the
alchemiscale client. Values are never logged, and errors name the Secret, never its contents.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from strategy_operator.controller.credentials_policy import SERVER_DATA_KEY, servers_bound_by

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
    # Normalised URLs the Secret's owner bound it to (see credentials_policy).
    servers: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SecretCredentials(identifier={self.identifier!r}, key=***, servers={self.servers!r})"

    __str__ = __repr__


class SecretSource(Protocol):
    """Where credentials come from: `kube.SecretReader` in the operator, a stand-in in tests."""

    async def read(self, namespace: str, name: str) -> SecretCredentials: ...


def parse_secret_data(
    data: Mapping[str, Any], where: str, annotations: Mapping[str, str] | None = None
) -> SecretCredentials:
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
    server_value = None
    if data.get(SERVER_DATA_KEY):
        try:
            server_value = base64.b64decode(data[SERVER_DATA_KEY], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsSecretInvalid(
                f"credentials Secret {where}: {SERVER_DATA_KEY!r} is not valid UTF-8 base64"
            ) from None
    return SecretCredentials(values["identifier"], values["key"], servers_bound_by(annotations, server_value))
