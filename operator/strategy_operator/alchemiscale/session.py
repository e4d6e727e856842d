"""The authenticated, retrying HTTP session to one alchemiscale server (user API 0.8.0).

A `Session` owns the connection pool and the bearer token of one (server, identity): it
logs in on first use, renews the token ahead of its expiry and once more on a 401 that
says the token is no longer good, retries transient failures while that is safe, and turns
every answer that is not a 200 into the matching `AlchemiscaleError`. What the endpoints
mean is `AlchemiscaleClient`'s (client.py), which sends every call through one session.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from strategy_operator.alchemiscale import answers
from strategy_operator.alchemiscale.answers import ServerBusy, UnexpectedAnswer
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import (
    InvalidCredentials,
    NetworkNotFound,
    OutcomeUnknown,
    RequestRejected,
    ScopeNotPermitted,
    TransientError,
)
from strategy_operator.alchemiscale.retry import RetryPolicy
from strategy_operator.alchemiscale.tls import ssl_context
from strategy_operator.alchemiscale.transport import AiohttpTransport

log = logging.getLogger("strategy_operator.alchemiscale")

# The two 401 details that mean "this token is not (or no longer) good"; a scope denial
# is also a 401 but a fresh token would not change it.
TOKEN_REJECTED_DETAILS = frozenset({"Not authenticated", "Could not validate credentials"})
SCOPE_DENIED_PREFIX = "Targeted scope"

# Failures where the request certainly never reached the server, so even a
# non-idempotent request may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# alchemiscale's 400 detail for an object it does not hold.
NO_SUCH_OBJECT = "No such object in database"


def _token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying (the server verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


def _outcome_unknown(method: str, path: str, response: httpx.Response) -> OutcomeUnknown:
    """A non-idempotent request answered 429 or 5xx: not repeated, its Retry-After kept for the next pass.

    alchemiscale 0.8.0 itself answers neither 429 nor 503 to task creation (its one 503 is
    `GET /check`'s), so either comes from something in front of it. A rate limiter usually
    refuses before forwarding, but a proxy may answer 503 (or 502/504) after the server
    received the request, and nothing in the answer tells which: the tasks may exist.
    """
    wait = answers.retry_after(response)
    asked = f"; the server asks to wait {wait:g} s" if wait is not None else ""
    return OutcomeUnknown(
        f"{method} {path}: server answered {answers.describe(response)}{asked}; "
        "the request may have taken effect, so it is not repeated",
        status_code=response.status_code,
        retry_after=wait,
    )


def _detail(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return body.get("detail", body) if isinstance(body, dict) else body


class Session:
    """Authenticated requests to one alchemiscale server as one identity.

    Built by `AlchemiscaleClient`, whose constructor and `request` hold the defaults and
    describe the arguments; here every argument is explicit. Close with `aclose()`.
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        verify: bool | str,
        timeout: float,
        retry: RetryPolicy,
        max_connections: int,
    ) -> None:
        parts = urlsplit(url)
        if parts.username or parts.password:  # checked first: the other message quotes the URL
            raise ValueError("server url must not contain user info; pass credentials separately")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"server url {url!r} must be an http:// or https:// URL")
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a Credentials instance")
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.retry = retry
        self.requests_sent = 0
        self.logins = 0
        self._http = httpx.AsyncClient(
            # A trailing slash keeps a path prefix in the base URL (deployments behind one).
            base_url=self.url + "/",
            transport=AiohttpTransport(verify=ssl_context(verify, parts.scheme), max_connections=max_connections),
            timeout=httpx.Timeout(timeout),
            headers={"Accept-Encoding": "gzip", "User-Agent": "alchemiscale-strategy-operator"},
            trust_env=False,
        )
        self._token: str | None = None
        self._token_refresh_at: float | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Session(url={self.url!r}, identifier={self.credentials.identifier!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests_sent += 1
        response = await self._http.request(method, path.lstrip("/"), **kwargs)
        log.debug("%s %s -> %s", method, path, response.status_code)
        return response

    async def _with_retries(self, method: str, path: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """Send, retrying transport failures, 429 and 5xx while that is safe.

        A `Retry-After` within the retry policy's longest delay is waited for here; a longer
        one ends the request with `ServerBusy`, whose `retry_after` the scheduler honours. A
        non-idempotent request answered 429 or 5xx ends at once with `OutcomeUnknown`, which
        carries the answer's status and `Retry-After` the same way.
        """
        last_problem = ""
        last_busy: ServerBusy | None = None
        asked_wait: float | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(asked_wait if asked_wait is not None else self.retry.delay(attempt - 1))
            asked_wait = None
            try:
                response = await self._send(method, path, **kwargs)
            except _NOT_SENT as exc:
                last_problem = f"server unreachable ({type(exc).__name__}: {exc})"
                continue
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc or 'connection failed'}"
                if not idempotent:
                    raise OutcomeUnknown(
                        f"{method} {path}: {last_problem}; the request may have taken effect, so it is not repeated"
                    ) from None
                continue
            if not idempotent and (response.status_code == 429 or response.status_code >= 500):
                raise _outcome_unknown(method, path, response)
            if response.status_code in (429, 503):
                last_busy = answers.busy(response)
                if last_busy.retry_after is not None and last_busy.retry_after > self.retry.max_delay:
                    raise ServerBusy(f"{method} {path}: {last_busy}", last_busy.retry_after, last_busy.status_code)
                asked_wait = last_busy.retry_after
                continue
            last_busy = None
            if response.status_code >= 500:
                last_problem = f"server answered {answers.describe(response)}"
                continue
            return response
        if last_busy is not None:
            raise ServerBusy(
                f"{method} {path} failed after {self.retry.attempts} attempt(s): {last_busy}",
                last_busy.retry_after,
                last_busy.status_code,
            )
        raise TransientError(f"{method} {path} failed after {self.retry.attempts} attempt(s): {last_problem}")

    async def _fetch_token(self, stale: str | None) -> str:
        async with self._token_lock:
            if self._token is not None and self._token != stale and not self._token_due():
                return self._token  # another coroutine refreshed it meanwhile
            form = {"username": self.credentials.identifier, "password": self.credentials.key}
            self.logins += 1
            try:
                response = await self._with_retries("POST", "/token", True, data=form)
            except TransientError as exc:
                if "answered HTTP 500" not in str(exc):
                    raise
                raise TransientError(
                    f"{exc} (alchemiscale 0.8.0 also answers 500 for an unknown identifier, "
                    f"here {self.credentials.identifier!r})"
                ) from None
            if not answers.is_json(response):
                raise UnexpectedAnswer(
                    f"POST /token at {self.url}: not an answer of alchemiscale ({answers.describe(response)}); "
                    "a proxy or load balancer in front of it may be failing"
                )
            if response.status_code == 401:
                raise InvalidCredentials(
                    f"alchemiscale at {self.url} rejected identity {self.credentials.identifier!r}: {_detail(response)}"
                )
            if response.status_code != 200:
                raise RequestRejected(
                    f"POST /token answered {response.status_code}: {_detail(response)}",
                    status_code=response.status_code,
                )
            try:
                answer = response.json()
            except ValueError:
                answer = None
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise UnexpectedAnswer(
                    f"POST /token at {self.url} answered 200 without an access_token ({answers.describe(response)}): "
                    "is this an alchemiscale user API?"
                )
            expiry = _token_expiry(token)
            now = time.time()
            if expiry is None:
                self._token_refresh_at = None
            else:
                # Renew ahead of expiry; a tenth of the lifetime, at most a minute.
                self._token_refresh_at = expiry - min(60.0, max(0.0, expiry - now) / 10)
            self._token = token
            return token

    def forget_token(self) -> None:
        """Log in again before the next request (e.g. after the identity's scopes were changed)."""
        self._token = None
        self._token_refresh_at = None

    def _token_due(self) -> bool:
        return self._token_refresh_at is not None and time.time() >= self._token_refresh_at

    async def _token_for_request(self) -> str:
        if self._token is None or self._token_due():
            return await self._fetch_token(self._token)
        return self._token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        params: dict[str, str] | None,
        idempotent: bool,
        decode: Callable[[str], Any] | None,
    ) -> Any:
        """One authenticated API call; returns the decoded JSON body of a 200 (`decode(text)` if given)."""
        kwargs: dict[str, Any] = {}
        if json_body is not None:
            kwargs["json"] = json_body
        if params:
            kwargs["params"] = params
        token = await self._token_for_request()
        refreshed = False
        while True:
            headers = {"Authorization": f"Bearer {token}"}
            response = await self._with_retries(method, path, idempotent, headers=headers, **kwargs)
            if response.status_code == 200:
                try:
                    return decode(response.text) if decode is not None else response.json()
                except ValueError:
                    raise UnexpectedAnswer(
                        f"{method} {path} answered 200 with a body that is not JSON ({answers.describe(response)})"
                    ) from None
            if response.status_code < 400 or response.status_code in (408, 425) or not answers.is_json(response):
                # Not alchemiscale's own answer (it sends JSON 200s and JSON errors): a proxy's page,
                # a redirect to a login, a gateway timeout. Passing, as far as the resource can tell.
                raise UnexpectedAnswer(
                    f"{method} {path}: not an answer of alchemiscale ({answers.describe(response)}); "
                    "a proxy or load balancer in front of it may be failing"
                )
            detail = _detail(response)
            if (
                response.status_code == 400
                and path.startswith("/networks/")
                and isinstance(detail, str)
                and NO_SUCH_OBJECT in detail
            ):
                network = path.split("/")[2]
                raise NetworkNotFound(f"network {network} does not exist on {self.url} ({method} {path})")
            if response.status_code == 401:
                if isinstance(detail, str) and detail.startswith(SCOPE_DENIED_PREFIX):
                    raise ScopeNotPermitted(
                        f"identity {self.credentials.identifier!r} may not access this object ({method} {path}): {detail}"
                    )
                if detail in TOKEN_REJECTED_DETAILS and not refreshed:
                    refreshed = True
                    token = await self._fetch_token(token)
                    continue
                raise InvalidCredentials(
                    f"alchemiscale at {self.url} rejected identity {self.credentials.identifier!r}'s token "
                    f"for {method} {path}: {detail}"
                )
            if response.status_code == 404:
                raise RequestRejected(
                    f"{method} {path} is not served by {self.url} (404): wrong server URL or an incompatible alchemiscale version",
                    status_code=404,
                    detail=detail,
                )
            raise RequestRejected(
                f"{method} {path} rejected with {response.status_code}: {detail}",
                status_code=response.status_code,
                detail=detail,
            )
