"""What an HTTP answer means when it is not the JSON alchemiscale sends, and checks of its shape.

alchemiscale (FastAPI) answers JSON, always. A 429, a 503 or an HTML page comes from
something in front of it (a proxy, a load balancer, an ingress during a rollout) or from
an overloaded server, and passes; so does a 200 whose body is broken or of the wrong shape.
Those are transient, with a message saying what came back (status, content type and a
bounded snippet of the body), so a person reading the status can tell a proxy's error page
from a server's. `Retry-After` (seconds or an HTTP date) is honoured.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

from strategy_operator.alchemiscale.errors import TransientError

SNIPPET_LIMIT = 160
# The longest Retry-After honoured; a larger value (or a date far ahead) is capped so a
# misconfigured proxy cannot park a resource for days.
RETRY_AFTER_CAP = 3600.0


class ServerBusy(TransientError):
    """The server (or a proxy) asked us to come back later: 429 or 503, maybe with Retry-After."""

    def __init__(self, message: str, retry_after: float | None = None, status_code: int = 503) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status_code = status_code


class UnexpectedAnswer(TransientError):
    """An answer that is not alchemiscale's: not JSON, or JSON of the wrong shape."""


def snippet(response: httpx.Response, limit: int = SNIPPET_LIMIT) -> str:
    """The start of the body on one line, at most `limit` characters."""
    text = " ".join(response.content[: limit * 4].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(response: httpx.Response) -> str:
    """'HTTP 502, text/html: <html>…' — what came back, bounded."""
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip() or "no content type"
    body = snippet(response)
    return (
        f"HTTP {response.status_code}, {kind}: {body!r}" if body else f"HTTP {response.status_code}, {kind}, empty body"
    )


def is_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds from `now` the answer asks us to wait, capped; None when it does not say."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(RETRY_AFTER_CAP, max(0.0, seconds))


def busy(response: httpx.Response) -> ServerBusy:
    wait = retry_after(response)
    asked = f"; it asks to retry after {wait:g} s" if wait is not None else ""
    return ServerBusy(f"the server is busy or unavailable ({describe(response)}){asked}", wait, response.status_code)


# -- shapes ------------------------------------------------------------------------------------


def snippet_of(value: Any) -> str:
    """A decoded answer as `type value`, bounded."""
    shown = repr(value)
    if len(shown) > SNIPPET_LIMIT:
        shown = shown[: SNIPPET_LIMIT - 1] + "…"
    return f"{type(value).__name__} {shown}"


def _wrong(what: str, value: Any, expected: str) -> UnexpectedAnswer:
    return UnexpectedAnswer(f"{what} answered {snippet_of(value)}, expected {expected}")


def list_of(
    value: Any, what: str, item: type | tuple[type, ...], *, length: int | None = None, optional_items: bool = False
) -> list[Any]:
    """`value` if it is a list of `item` (and of `length`), else UnexpectedAnswer naming `what`."""
    names = item.__name__ if isinstance(item, type) else " or ".join(t.__name__ for t in item)
    expected = f"a list of {names}" + (" or null" if optional_items else "")
    if length is not None:
        expected += f" with {length} element(s)"
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise _wrong(what, value, expected)
    for element in value:
        if element is None and optional_items:
            continue
        if not isinstance(element, item) or (isinstance(element, bool) and bool not in _types(item)):
            raise _wrong(what, value, expected)
    return value


def _types(item: type | tuple[type, ...]) -> tuple[type, ...]:
    return item if isinstance(item, tuple) else (item,)


def one_of(value: Any, what: str, item: type) -> Any:
    if not isinstance(value, item) or (isinstance(value, bool) and item is not bool):
        raise _wrong(what, value, f"a {item.__name__}")
    return value


def status_counts(value: Any, what: str) -> dict[str, int]:
    """A `{status: count}` object as the status endpoints answer it."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) for k, n in value.items()
    ):
        raise _wrong(what, value, "an object of task counts by status")
    return value
