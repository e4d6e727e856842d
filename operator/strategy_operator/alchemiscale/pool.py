"""One `AlchemiscaleClient` per server and identity, shared by everything that talks to them.

Resources that name the same server with the same credentials share one client: one
connection pool, one bearer token (one login), one retry policy, and the client's knowledge
of which transformation each task performs. Each user of a client is a *holder* (any
hashable token, e.g. one resource's session); a client is closed when its last holder lets
go, and a holder whose server or credentials change moves to another client.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials


@dataclass(frozen=True, slots=True)
class ClientKey:
    """What makes two clients interchangeable; the key itself is kept only as a digest."""

    url: str
    identifier: str
    key_digest: str
    verify: bool | str

    @classmethod
    def of(cls, url: str, credentials: Credentials, verify: bool | str) -> ClientKey:
        digest = hashlib.sha256(credentials.key.encode()).hexdigest()
        return cls(url.rstrip("/"), credentials.identifier, digest, verify)


class ClientPool:
    """The operator's alchemiscale clients, keyed by `ClientKey`; one pool per process."""

    def __init__(self, *, timeout: float = 60.0, max_connections: int = 16) -> None:
        self.timeout = timeout
        self.max_connections = max_connections
        self._clients: dict[ClientKey, AlchemiscaleClient] = {}
        self._holders: dict[ClientKey, set[Hashable]] = {}
        self._held: dict[Hashable, ClientKey] = {}
        self._requests_of_closed = 0
        self._logins_of_closed = 0
        self.clients_created = 0

    def __len__(self) -> int:
        return len(self._clients)

    async def acquire(
        self, holder: Hashable, url: str, credentials: Credentials, verify: bool | str
    ) -> AlchemiscaleClient:
        """The shared client for (url, credentials, verify), now held by `holder`.

        A holder that held another client (its server or credentials changed) lets go of it,
        and that client is closed if nobody else holds it.
        """
        key = ClientKey.of(url, credentials, verify)
        if self._held.get(holder) not in (None, key):
            await self.release(holder)
        client = self._clients.get(key)
        if client is None:
            client = AlchemiscaleClient(
                url, credentials, verify=verify, timeout=self.timeout, max_connections=self.max_connections
            )
            self._clients[key] = client
            self.clients_created += 1
        self._holders.setdefault(key, set()).add(holder)
        self._held[holder] = key
        return client

    def _let_go(self, holder: Hashable) -> list[AlchemiscaleClient]:
        key = self._held.pop(holder, None)
        if key is None:
            return []
        holders = self._holders.get(key, set())
        holders.discard(holder)
        if holders:
            return []
        self._holders.pop(key, None)
        client = self._clients.pop(key)
        self._requests_of_closed += client.requests_sent
        self._logins_of_closed += client.logins
        return [client]

    async def release(self, holder: Hashable) -> None:
        """`holder` is done; its client is closed when nobody else holds it."""
        await close(self._let_go(holder))

    def holders(self, client: AlchemiscaleClient) -> int:
        for key, held in self._clients.items():
            if held is client:
                return len(self._holders.get(key, ()))
        return 0

    def requests_sent(self) -> int:
        """Requests sent by every client this pool has held, open or closed."""
        return self._requests_of_closed + sum(c.requests_sent for c in self._clients.values())

    def logins(self) -> int:
        return self._logins_of_closed + sum(c.logins for c in self._clients.values())

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        for client in clients:
            self._requests_of_closed += client.requests_sent
            self._logins_of_closed += client.logins
        self._clients.clear()
        self._holders.clear()
        self._held.clear()
        await close(clients)


async def close(clients: list[AlchemiscaleClient]) -> None:
    for client in clients:
        await client.aclose()
