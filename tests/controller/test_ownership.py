"""NetworkOwners: the oldest claim owns a network; priming, confirmation and expiry of listed claims."""

from __future__ import annotations

from strategy_operator.controller.ownership import Claim, NetworkOwners

NET = "AlchemicalNetwork-aa-acme-tyk2-run1"
OTHER = "AlchemicalNetwork-bb-acme-tyk2-run1"


def claim(uid: str, created: str, ref: str | None = None, network: str = NET) -> Claim:
    return Claim(created, ref or f"ns/{uid}", uid, network)


def test_the_oldest_claim_owns_and_the_next_takes_over_when_it_goes():
    owners = NetworkOwners()
    newer, older = claim("b", "2026-12-01T10:00:05Z"), claim("a", "2026-12-01T10:00:00Z")
    owners.claim(newer)
    assert owners.owner(NET) == newer
    owners.claim(older)  # seen later, created earlier: it owns
    assert owners.owner(NET) == older and owners.claims(NET) == 2
    owners.claim(claim("c", "2026-12-01T09:00:00Z", network=OTHER))
    assert owners.owner(NET) == older
    owners.forget("a")
    assert owners.owner(NET) == newer
    owners.forget("b")
    assert owners.owner(NET) is None and owners.claims(NET) == 0


def test_equal_creation_times_are_ordered_by_namespace_and_name():
    owners = NetworkOwners()
    owners.claim(claim("z", "2026-12-01T10:00:00Z", "team-b/run"))
    owners.claim(claim("y", "2026-12-01T10:00:00Z", "team-a/run"))
    assert owners.owner(NET).ref == "team-a/run"
    assert str(owners.owner(NET)) == "NetworkStrategy team-a/run (created 2026-12-01T10:00:00Z)"


async def test_priming_claims_what_the_watch_has_not_delivered_yet_and_expires_ghosts():
    now = [0.0]
    owners = NetworkOwners(unconfirmed_ttl=60, clock=lambda: now[0])
    newer = claim("new", "2026-12-01T10:00:05Z")
    owners.claim(newer)  # after a restart, the watch delivered the newer resource first

    async def lister():
        return [claim("old", "2026-12-01T10:00:00Z"), newer, claim("ghost", "2026-12-01T09:00:00Z", network=OTHER)]

    await owners.prime(lister)
    assert owners.primed and owners.owner(NET).uid == "old"

    async def never():
        raise AssertionError("primed once only")

    await owners.prime(never)
    owners.claim(claim("old", "2026-12-01T10:00:00Z"))  # the watch confirms it
    now[0] = 61.0
    assert owners.owner(NET).uid == "old"
    assert owners.owner(OTHER) is None  # listed, never watched (deleted meanwhile): expired
