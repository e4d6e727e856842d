"""What can go wrong when talking to alchemiscale, as types the operator can act on.

`TransientError` and its subclasses mean "try again later": the server was unreachable,
answered 5xx, timed out or dropped the connection (after the client's own retries).
Every other error is a fact about the request or the configuration and will not go away
by retrying. No message ever contains the identity's key or a token.
"""

from __future__ import annotations


class AlchemiscaleError(Exception):
    """Base of every error raised by the alchemiscale client."""


class TransientError(AlchemiscaleError):
    """The server could not be reached or failed; retrying later may succeed."""


class OutcomeUnknown(TransientError):
    """A non-idempotent request (task creation) may or may not have taken effect.

    It is never retried blindly; the next snapshot shows what exists on the server. When the
    server (or a proxy) answered, `status_code` says what and `retry_after` how many seconds
    its `Retry-After` asked to wait (None when it did not say), which the next pass honours.
    """

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class InvalidCredentials(AlchemiscaleError):
    """The server rejected the identity's identifier/key."""


class ScopeNotPermitted(AlchemiscaleError):
    """The identity's scopes do not cover the scope of the addressed object."""


class NetworkNotFound(AlchemiscaleError):
    """No AlchemicalNetwork with this scoped key exists on the server."""


class MalformedScopedKey(AlchemiscaleError, ValueError):
    """A scoped key that alchemiscale would not parse; detected before any request."""


class RequestRejected(AlchemiscaleError):
    """The server answered a client error (4xx) that is none of the above.

    404 belongs here too: alchemiscale only answers 404 for a path it does not serve,
    so it means a wrong server URL or an incompatible version, never a missing object.
    """

    def __init__(self, message: str, *, status_code: int, detail: object = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
