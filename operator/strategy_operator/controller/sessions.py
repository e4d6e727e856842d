"""Each resource's session with alchemiscale: its snapshotter, over the pool's shared client."""

from __future__ import annotations

from dataclasses import dataclass

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter
from strategy_operator.controller.secrets import SecretCredentials


@dataclass
class Session:
    client: AlchemiscaleClient
    snapshotter: NetworkSnapshotter
    # When the server's own strategy for the network was last checked (monotonic seconds).
    server_strategy_checked: float | None = None


class SessionCache:
    """One resource's snapshotter, over the pool's shared client for its server and identity.

    The snapshotter (the network's caches) is the resource's own and is dropped with it; the
    client (connection pool, token) belongs to the `ClientPool` and is shared.
    """

    def __init__(self, pool: ClientPool | None = None, *, resync_interval: float | None = None) -> None:
        self.pool = pool if pool is not None else ClientPool()
        self.resync_interval = resync_interval
        self._session: Session | None = None

    def requests_sent(self) -> int:
        """Requests sent to alchemiscale by the pool this cache draws its client from."""
        return self.pool.requests_sent()

    async def get(self, url: str, credentials: SecretCredentials, network: str, verify: bool | str) -> Session:
        """The resource's session: the pool's client for (url, credentials, verify), its snapshotter."""
        client = await self.pool.acquire(self, url, Credentials(credentials.identifier, credentials.key), verify)
        session = self._session
        if session is not None and session.client is client and session.snapshotter.network == network:
            return session
        if session is not None:
            session.snapshotter.forget()
        self._session = Session(client, NetworkSnapshotter(client, network, resync_interval=self.resync_interval))
        return self._session

    async def reset(self) -> None:
        """Start afresh (a wake): a full re-read of the network, and a new login for the shared client."""
        if self._session is not None:
            self._session.client.forget_token()
        await self.aclose()

    async def aclose(self) -> None:
        """Drop this resource's caches and let go of the shared client."""
        if self._session is not None:
            session, self._session = self._session, None
            session.snapshotter.forget()
        await self.pool.release(self)
