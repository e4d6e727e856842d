"""An async client for alchemiscale's user-facing REST API (0.8.0), for one server.

One `AlchemiscaleClient` per server: it owns the connection pool, the bearer token and
what is known forever about that server's objects (which transformation a task performs).
It knows nothing of Kubernetes. Requests that may be repeated safely are retried on
transient failures; task creation is not (see `create_tasks`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from strategy_operator.alchemiscale import answers
from strategy_operator.alchemiscale.answers import ServerBusy, UnexpectedAnswer
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import (
    InvalidCredentials,
    MalformedScopedKey,
    NetworkNotFound,
    OutcomeUnknown,
    RequestRejected,
    ScopeNotPermitted,
    TransientError,
)
from strategy_operator.alchemiscale.retry import RetryPolicy
from strategy_operator.alchemiscale.transport import AiohttpTransport
from strategy_operator.scopedkey import InvalidScopedKey, ScopedKey

log = logging.getLogger("strategy_operator.alchemiscale")

# The two 401 details that mean "this token is not (or no longer) good"; a scope denial
# is also a 401 but a fresh token would not change it.
TOKEN_REJECTED_DETAILS = frozenset({"Not authenticated", "Could not validate credentials"})
SCOPE_DENIED_PREFIX = "Targeted scope"

# Failures where the request certainly never reached the server, so even a
# non-idempotent request may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

NETWORK_TEXTS_KEPT = 4

TASK_STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
# alchemiscale's 400 detail for an object it does not hold.
NO_SUCH_OBJECT = "No such object in database"


def scoped_key(
    text: str, *, what: str = "scoped key", parse: Callable[[str], ScopedKey] = ScopedKey.from_str
) -> ScopedKey:
    """Parse a scoped key with `parse`, raising `MalformedScopedKey` naming `what` it was meant to be."""
    try:
        return parse(text)
    except InvalidScopedKey as exc:
        raise MalformedScopedKey(f"{what}: {exc}") from None


def _token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying (the server verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


def _detail(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return body.get("detail", body) if isinstance(body, dict) else body


def _ssl_context(verify: bool | str, scheme: str = "https") -> ssl.SSLContext | bool:
    """The TLS context for a server: none for http://, else one per CA choice for the whole process.

    A default context costs ~840 KiB (the system CA store, parsed); one per client made
    memory grow with every resource. A CA bundle is read once: replace it, restart.
    """
    if scheme != "https" or verify is False:
        return False
    return _shared_ssl_context(None if verify is True else verify)


@functools.cache
def _shared_ssl_context(cafile: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"CA bundle {cafile!r} cannot be loaded: {exc}") from None


class AlchemiscaleClient:
    """Async client for one alchemiscale server.

    `verify` is True (system CAs), a path to a PEM CA bundle, or False (no verification).
    `timeout` bounds every single request (seconds). Use as `async with`, or call `aclose()`.
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
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
        self.retry = retry or RetryPolicy()
        self.max_connections = max_connections
        self.requests_sent = 0
        self.logins = 0
        # Immutable server facts, learnt from our own writes and from lookups; shared by
        # every snapshotter using this client.
        self.task_transformations: dict[str, str] = {}
        self._network_texts: collections.OrderedDict[str, str] = collections.OrderedDict()
        ssl_context = _ssl_context(verify, parts.scheme)
        self._http = httpx.AsyncClient(
            # A trailing slash keeps a path prefix in the base URL (deployments behind one).
            base_url=self.url + "/",
            transport=AiohttpTransport(verify=ssl_context, max_connections=max_connections),
            timeout=httpx.Timeout(timeout),
            headers={"Accept-Encoding": "gzip", "User-Agent": "alchemiscale-strategy-operator"},
            trust_env=False,
        )
        self._token: str | None = None
        self._token_refresh_at: float | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AlchemiscaleClient(url={self.url!r}, identifier={self.credentials.identifier!r})"

    async def __aenter__(self) -> AlchemiscaleClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport -----------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests_sent += 1
        response = await self._http.request(method, path.lstrip("/"), **kwargs)
        log.debug("%s %s -> %s", method, path, response.status_code)
        return response

    async def _with_retries(self, method: str, path: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """Send, retrying transport failures, 429 and 5xx while that is safe.

        A `Retry-After` within the retry policy's longest delay is waited for here; a longer
        one ends the request with `ServerBusy`, whose `retry_after` the scheduler honours.
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
            # 429 means "not processed", so even task creation may be sent again.
            if response.status_code == 429 or (response.status_code == 503 and idempotent):
                last_busy = answers.busy(response)
                if last_busy.retry_after is not None and last_busy.retry_after > self.retry.max_delay:
                    raise ServerBusy(f"{method} {path}: {last_busy}", last_busy.retry_after, last_busy.status_code)
                asked_wait = last_busy.retry_after
                continue
            last_busy = None
            if response.status_code >= 500:
                last_problem = f"server answered {answers.describe(response)}"
                if not idempotent:
                    raise OutcomeUnknown(
                        f"{method} {path}: {last_problem}; the request may have taken effect, so it is not repeated"
                    )
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
        json_body: Any = None,
        params: dict[str, str] | None = None,
        idempotent: bool = True,
        decode: Callable[[str], Any] | None = None,
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

    # -- typed endpoints -------------------------------------------------------------

    async def info(self) -> Any:
        return await self.request("GET", "/info")

    async def exists(self, sk: str) -> bool:
        scoped_key(sk)
        return answers.one_of(await self.request("GET", f"/exists/{sk}"), f"GET /exists/{sk}", bool)

    async def network(self, network: str) -> list:
        """The network as a gufe keyed chain (`[[gufe_key, keyed_dict], ...]`)."""
        text = await self.network_text(network)
        try:
            return json.loads(text)
        except ValueError:
            raise UnexpectedAnswer(
                f"GET /networks/{network} answered 200 with a body that is not JSON: {answers.snippet_of(text)}"
            ) from None

    async def network_text(self, network: str) -> str:
        """The network's keyed chain as the JSON text the server sent (for gufe's own JSON decoder).

        Networks are immutable: the last few texts are kept, so the structure loader and the
        stratocaster adapter's gufe decoding share one request.
        """
        scoped_key(network, what="network")
        text = self._network_texts.get(network)
        if text is None:
            text = await self.request("GET", f"/networks/{network}", decode=str)
            self._network_texts[network] = text
            while len(self._network_texts) > NETWORK_TEXTS_KEPT:
                self._network_texts.popitem(last=False)
        return text

    def forget_network_text(self, network: str) -> None:
        """Drop the kept text of a network the server no longer has, so it is asked for again."""
        self._network_texts.pop(network, None)

    async def result_payload(self, transformation: str, ref: str) -> bytes:
        """A successful ProtocolDAGResult's stored bytes (zstd-compressed keyed-chain JSON, as upstream stores it)."""
        scoped_key(transformation, what="transformation")
        scoped_key(ref, what="result reference")
        body = await self.request("GET", f"/transformations/{transformation}/results/{ref}")
        if not (isinstance(body, list) and len(body) == 1 and isinstance(body[0], str)):
            raise UnexpectedAnswer(
                f"GET /transformations/{transformation}/results/{ref} answered {answers.snippet_of(body)}, "
                "not a one-element list holding the result's bytes"
            )
        # The server sends the bytes decoded as latin-1 inside JSON (alchemiscale 0.8.0).
        return body[0].encode("latin-1")

    async def network_transformations(self, network: str) -> list[str]:
        scoped_key(network, what="network")
        path = f"/networks/{network}/transformations"
        return answers.list_of(await self.request("GET", path), f"GET {path}", str)

    async def network_chemicalsystems(self, network: str) -> list[str]:
        scoped_key(network, what="network")
        path = f"/networks/{network}/chemicalsystems"
        return answers.list_of(await self.request("GET", path), f"GET {path}", str)

    async def transformation_chemicalsystems(self, transformation: str) -> list[str]:
        scoped_key(transformation, what="transformation")
        path = f"/transformations/{transformation}/chemicalsystems"
        return answers.list_of(await self.request("GET", path), f"GET {path}", str)

    async def network_tasks(self, network: str, status: str | None = None) -> list[str]:
        scoped_key(network, what="network")
        path = f"/networks/{network}/tasks"
        answer = await self.request("GET", path, params={"status": status} if status else None)
        return answers.list_of(answer, f"GET {path}", str)

    async def transformation_tasks(self, transformation: str, status: str | None = None) -> list[str]:
        scoped_key(transformation, what="transformation")
        path = f"/transformations/{transformation}/tasks"
        answer = await self.request("GET", path, params={"status": status} if status else None)
        return answers.list_of(answer, f"GET {path}", str)

    async def task_transformation(self, task: str) -> str:
        scoped_key(task, what="task")
        path = f"/tasks/{task}/transformation"
        transformation = answers.one_of(await self.request("GET", path), f"GET {path}", str)
        self.task_transformations[task] = transformation
        return transformation

    async def tasks_status(self, tasks: Sequence[str]) -> list[str | None]:
        if not tasks:
            return []
        body = {"tasks": [scoped_key(t, what="task").as_json() for t in tasks]}
        answer = await self.request("POST", "/bulk/tasks/status/get", json_body=body)
        return answers.list_of(answer, "POST /bulk/tasks/status/get", str, length=len(tasks), optional_items=True)

    async def networks_status(self, networks: Sequence[str]) -> list[dict[str, int]]:
        for network in networks:
            scoped_key(network, what="network")
        answer = await self.request("POST", "/bulk/networks/status", json_body={"networks": list(networks)})
        what = "POST /bulk/networks/status"
        return [
            answers.status_counts(counts, what) for counts in answers.list_of(answer, what, dict, length=len(networks))
        ]

    async def network_actioned_tasks(self, network: str) -> list[str]:
        scoped_key(network, what="network")
        path = f"/networks/{network}/tasks/actioned"
        return answers.list_of(await self.request("POST", path, json_body={"task_weights": False}), f"POST {path}", str)

    async def transformation_results(self, transformation: str) -> list[str]:
        """Successful ProtocolDAGResultRef keys of every task of the transformation."""
        scoped_key(transformation, what="transformation")
        path = f"/transformations/{transformation}/results"
        return answers.list_of(await self.request("GET", path), f"GET {path}", str)

    async def create_tasks(self, transformations: Sequence[str]) -> list[str]:
        """Create one task per element (repeat a key for several), all in one scope.

        Creation is not idempotent, so a request whose answer is lost (dropped connection,
        timeout, 5xx) is never repeated: `OutcomeUnknown` is raised instead. The answer is
        returned aligned with the input, and each task's transformation is remembered.
        """
        if not transformations:
            return []
        keys = [scoped_key(t, what="transformation") for t in transformations]
        if len({k.scope for k in keys}) != 1:
            # alchemiscale 0.8.0 gives every task the scope of the last element.
            raise ValueError("create_tasks: all transformations of one call must share a scope")
        # The server answers Transformations first, then NonTransformations, each in input
        # order; sending them in that order makes the answer aligned with what we sent.
        ordered = sorted(transformations, key=lambda t: scoped_key(t).qualname == "NonTransformation")
        created = await self.request(
            "POST",
            "/bulk/transformations/tasks/create",
            json_body={"transformations": list(ordered), "extends": None},
            idempotent=False,
        )
        if (
            not isinstance(created, list)
            or len(created) != len(ordered)
            or not all(isinstance(t, str) for t in created)
        ):
            # The tasks may exist all the same: the next snapshot shows what does.
            raise OutcomeUnknown(
                f"task creation answered {answers.snippet_of(created)} for {len(ordered)} requested tasks; "
                "the tasks may or may not exist, so the request is not repeated"
            )
        for task, transformation in zip(created, ordered, strict=True):
            self.task_transformations[task] = transformation
        by_transformation: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        for task, transformation in zip(created, ordered, strict=True):
            by_transformation[transformation].append(task)
        return [by_transformation[t].popleft() for t in transformations]

    async def action_tasks(self, network: str, tasks: Iterable[str]) -> list[str | None]:
        """Action tasks on the network's TaskHub; `None` where nothing new was actioned."""
        scoped_key(network, what="network")
        body = {"tasks": [scoped_key(t, what="task").as_json() for t in tasks], "weight": None}
        if not body["tasks"]:
            return []
        path = f"/networks/{network}/tasks/action"
        answer = await self.request("POST", path, json_body=body)
        return answers.list_of(answer, f"POST {path}", str, length=len(body["tasks"]), optional_items=True)

    async def cancel_tasks(self, network: str, tasks: Iterable[str]) -> list[str | None]:
        """Remove tasks from the network's TaskHub; `None` where none was actioned there."""
        scoped_key(network, what="network")
        body = {"tasks": [scoped_key(t, what="task").as_json() for t in tasks]}
        if not body["tasks"]:
            return []
        path = f"/networks/{network}/tasks/cancel"
        answer = await self.request("POST", path, json_body=body)
        return answers.list_of(answer, f"POST {path}", str, length=len(body["tasks"]), optional_items=True)

    # -- the server-side strategy (upstream's Strategist) ------------------------------

    async def network_strategy(self, network: str) -> list | None:
        """The network's stored strategy as a gufe keyed chain, or None when it has none."""
        scoped_key(network, what="network")
        path = f"/networks/{network}/strategy"
        answer = await self.request("GET", path)
        return None if answer is None else answers.list_of(answer, f"GET {path}", list)

    async def network_strategy_state(self, network: str) -> dict[str, Any] | None:
        """The stored strategy's state (mode, status, counters), or None when the network has none."""
        scoped_key(network, what="network")
        path = f"/networks/{network}/strategy/state"
        answer = await self.request("GET", path)
        return None if answer is None else answers.one_of(answer, f"GET {path}", dict)

    async def set_network_strategy(self, network: str, chain: list | None, state: dict[str, Any]) -> str | None:
        """Store `chain` (None removes the strategy) with the given StrategyState fields."""
        scoped_key(network, what="network")
        return await self.request("POST", f"/networks/{network}/strategy", json_body={"strategy": chain, **state})
