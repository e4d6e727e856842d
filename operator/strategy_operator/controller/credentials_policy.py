"""Which alchemiscale servers a credentials Secret may be sent to, decided by the Secret's owner.

The operator reads Secrets with its own RBAC, not the resource author's. Without this check
anyone who may create a NetworkStrategy could point `spec.server.url` at a host of their own,
name any Secret of the namespace that has `identifier`/`key`, and the operator would post the
key there (a confused deputy). Two checks, neither in the resource author's hands, close it:

1. The operator's allow-list of servers (`--allowed-servers`; by default the default server
   only), set by whoever installs the operator. A resource naming a server outside it is an
   error before any Secret is read, and nothing is sent anywhere.
2. The Secret's own binding, set by whoever may write the Secret: the annotation
   `alchemiscale.org/servers` or the data key `server` (each one or more URLs, comma
   separated). Its key is sent only to the servers it names. The operator's default
   credentials Secret is bound to the default server by the operator's configuration.

URLs are compared after normalisation: scheme and host lower-cased, the scheme's default port
dropped, trailing slashes removed; the path prefix is kept (two deployments behind one host
are two servers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

SERVERS_ANNOTATION = "alchemiscale.org/servers"
SERVER_DATA_KEY = "server"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CredentialsPolicyError(Exception):
    """The resource asks for a server or a Secret the policy does not allow; fix the resource
    (or, as the Secret's owner or the operator's installer, extend the binding or allow-list)."""


class ServerNotAllowed(CredentialsPolicyError):
    pass


class SecretNotBoundToServer(CredentialsPolicyError):
    pass


def normalize_server(url: str) -> str:
    """The canonical form of an http(s) URL for comparison; ValueError when it is not one."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("a server URL must not contain user info")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def split_servers(text: str) -> tuple[str, ...]:
    """URLs from a comma- or whitespace-separated list, normalised; invalid entries are dropped."""
    found = []
    for item in text.replace(",", " ").split():
        try:
            found.append(normalize_server(item))
        except ValueError:
            continue
    return tuple(dict.fromkeys(found))


def servers_bound_by(annotations: Mapping[str, str] | None, decoded_server_value: str | None) -> tuple[str, ...]:
    """The servers a Secret names for itself: its annotation plus its `server` data key."""
    texts = [(annotations or {}).get(SERVERS_ANNOTATION) or "", decoded_server_value or ""]
    return tuple(dict.fromkeys(s for text in texts for s in split_servers(text)))


def allowed_servers(configured: Iterable[str], default_server: str | None) -> tuple[str, ...]:
    """The operator's allow-list: the configured servers, else the default server alone."""
    listed = tuple(normalize_server(url) for url in configured)
    if listed:
        return listed
    return (normalize_server(default_server),) if default_server else ()


def check_server_allowed(url: str, allowed: tuple[str, ...]) -> None:
    """Raise ServerNotAllowed unless `url` is on the operator's allow-list."""
    try:
        wanted = normalize_server(url)
    except ValueError as exc:
        raise ServerNotAllowed(f"spec.server.url: {exc}") from None
    if wanted in allowed:
        return
    listed = ", ".join(allowed) if allowed else "(none: the operator has no --default-server)"
    raise ServerNotAllowed(
        f"server {wanted} is not on this operator's allow-list of alchemiscale servers ({listed}); "
        "nothing was sent. The operator's installer may add it (--allowed-servers, "
        "Helm value alchemiscale.allowedServers)"
    )


def check_secret_bound(
    url: str, *, secret_ref: str, bound: tuple[str, ...], is_default_secret: bool, default_server: str | None
) -> None:
    """Raise SecretNotBoundToServer unless the Secret's owner bound it to `url`.

    `is_default_secret` marks the operator's own default credentials Secret, which the
    operator's configuration binds to the default server.
    """
    wanted = normalize_server(url)
    if is_default_secret and default_server and wanted == normalize_server(default_server):
        return
    if wanted in bound:
        return
    names = ", ".join(bound) if bound else "no server"
    raise SecretNotBoundToServer(
        f"credentials Secret {secret_ref} is not bound to server {wanted} (it names {names}); nothing was "
        f"sent. Whoever may write the Secret binds it with the annotation {SERVERS_ANNOTATION}={wanted} "
        f"or the data key {SERVER_DATA_KEY!r}"
    )


class _SecretReader(Protocol):
    async def read(self, namespace: str, name: str) -> Any: ...


async def read_bound_credentials(
    secrets: _SecretReader,
    *,
    url: str,
    secret_namespace: str,
    secret_name: str,
    allowed_servers_: Iterable[str],
    default_server: str | None,
    default_secret: tuple[str | None, str | None],
) -> Any:
    """The Secret's credentials, once the server is allowed and the Secret is bound to it.

    The allow-list is checked before the Secret is read, so a refused server costs no
    Kubernetes call either. `default_secret` is (namespace, name) of the operator's default
    credentials Secret.
    """
    check_server_allowed(url, allowed_servers(allowed_servers_, default_server))
    credentials = await secrets.read(secret_namespace, secret_name)
    check_secret_bound(
        url,
        secret_ref=f"{secret_namespace}/{secret_name}",
        bound=credentials.servers,
        is_default_secret=(secret_namespace, secret_name) == default_secret,
        default_server=default_server,
    )
    return credentials
