"""One owner per network: the oldest NetworkStrategy naming it, across the namespaces watched.

Two resources running one network would each plan from the same counts and both create the
missing tasks. The owner is the resource created first (ties: namespace/name, then uid);
every other one stays idle, with a condition and an event naming the owner, until the owner
is deleted. Claims come from the watch; before the first decision the registry is *primed*
with one list of every NetworkStrategy, so a restart cannot let a newer resource act before
the watch has delivered the older one. A primed claim the watch never confirms (deleted
between the list and the watch) expires after `unconfirmed_ttl` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Claim:
    """A resource naming a network; claims order by age, so the smallest one owns the network."""

    created: str  # metadata.creationTimestamp, RFC 3339 UTC: sorts as it reads
    ref: str  # namespace/name
    uid: str
    network: str

    def __str__(self) -> str:
        return f"NetworkStrategy {self.ref} (created {self.created})"


Lister = Callable[[], Awaitable[Iterable[Claim]]]


class NetworkOwners:
    """Claims by network; `owner(network)` is the oldest."""

    def __init__(self, *, unconfirmed_ttl: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._by_uid: dict[str, Claim] = {}
        self._by_network: dict[str, dict[str, Claim]] = {}
        self._unconfirmed: dict[str, float] = {}  # uid -> expiry of a primed, not yet watched, claim
        self._primed = False
        self._priming = asyncio.Lock()
        self._ttl = unconfirmed_ttl
        self._clock = clock

    def claim(self, claim: Claim) -> None:
        """The watch saw this resource (confirms a primed claim)."""
        self._unconfirmed.pop(claim.uid, None)
        self._put(claim)

    def _put(self, claim: Claim) -> None:
        old = self._by_uid.get(claim.uid)
        if old is not None and old.network != claim.network:
            self.forget(claim.uid)
        self._by_uid[claim.uid] = claim
        self._by_network.setdefault(claim.network, {})[claim.uid] = claim

    def forget(self, uid: str) -> None:
        """The resource is gone: the next oldest claim of its network becomes the owner."""
        self._unconfirmed.pop(uid, None)
        claim = self._by_uid.pop(uid, None)
        if claim is None:
            return
        claims = self._by_network.get(claim.network, {})
        claims.pop(uid, None)
        if not claims:
            self._by_network.pop(claim.network, None)

    def owner(self, network: str) -> Claim | None:
        now = self._clock()
        for uid in [u for u, expiry in self._unconfirmed.items() if expiry <= now]:
            self.forget(uid)
        claims = self._by_network.get(network)
        return min(claims.values()) if claims else None

    def claims(self, network: str) -> int:
        return len(self._by_network.get(network, {}))

    @property
    def primed(self) -> bool:
        return self._primed

    async def prime(self, lister: Lister) -> None:
        """Once: claim every resource `lister` returns (claims the watch already made are kept)."""
        if self._primed:
            return
        async with self._priming:
            if self._primed:
                return
            expiry = self._clock() + self._ttl
            for claim in await lister():
                if claim.uid not in self._by_uid:
                    self._put(claim)
                    self._unconfirmed[claim.uid] = expiry
            self._primed = True
