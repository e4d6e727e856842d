"""An async client for alchemiscale's user-facing REST API (0.8.0), for one server.

One `AlchemiscaleClient` per server and identity: its typed endpoints check what they send
and the shape of what comes back, and it keeps what is known forever about that server's
objects (which transformation a task performs, the last few networks' texts). It knows
nothing of Kubernetes. Every call goes through its `Session` (session.py: the connection
pool, the bearer token, retries); requests that may be repeated safely are retried on
transient failures, task creation is not (see `create_tasks`).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from strategy_operator.alchemiscale import answers
from strategy_operator.alchemiscale.answers import UnexpectedAnswer
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import MalformedScopedKey, OutcomeUnknown
from strategy_operator.alchemiscale.retry import RetryPolicy
from strategy_operator.alchemiscale.session import Session
from strategy_operator.scopedkey import InvalidScopedKey, ScopedKey

NETWORK_TEXTS_KEPT = 4

TASK_STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")


def scoped_key(
    text: str, *, what: str = "scoped key", parse: Callable[[str], ScopedKey] = ScopedKey.from_str
) -> ScopedKey:
    """Parse a scoped key with `parse`, raising `MalformedScopedKey` naming `what` it was meant to be."""
    try:
        return parse(text)
    except InvalidScopedKey as exc:
        raise MalformedScopedKey(f"{what}: {exc}") from None


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
        self.session = Session(
            url,
            credentials,
            verify=verify,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            max_connections=max_connections,
        )
        # The session's facts, as attributes; its counters below, read live.
        self.url = self.session.url
        self.credentials = self.session.credentials
        self.retry = self.session.retry
        self.max_connections = max_connections
        # Immutable server facts, learnt from our own writes and from lookups; shared by
        # every snapshotter using this client.
        self.task_transformations: dict[str, str] = {}
        self._network_texts: collections.OrderedDict[str, str] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"AlchemiscaleClient(url={self.url!r}, identifier={self.credentials.identifier!r})"

    async def __aenter__(self) -> AlchemiscaleClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.session.aclose()

    # -- the session's facts and calls -------------------------------------------------

    @property
    def requests_sent(self) -> int:
        return self.session.requests_sent

    @property
    def logins(self) -> int:
        """How often this client logged in (token fetches)."""
        return self.session.logins

    def forget_token(self) -> None:
        """Log in again before the next request (e.g. after the identity's scopes were changed)."""
        self.session.forget_token()

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
        return await self.session.request(
            method, path, json_body=json_body, params=params, idempotent=idempotent, decode=decode
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
