"""gufe objects from alchemiscale: the network, and each transformation's ProtocolResult.

What upstream's Strategist hands a Strategy (alchemiscale 0.8.0 `strategist/service.py`):
the AlchemicalNetwork (`GET /networks/{sk}`, a keyed chain) and, per transformation,
`transformation.gather(pdrs)` over its successful ProtocolDAGResults (`GET
/transformations/{t}/results/{ref}`: zstd-compressed keyed-chain JSON), or None when it has
none. Both are immutable on the server, so both are cached here:

* networks by (server, network key), a handful per operator;
* ProtocolDAGResults by (server, result reference), bounded in entries, least recently used
  first out (`ResultCache`, its counts exported as metrics);
* each transformation's gathered ProtocolResult, re-gathered only when its set of result
  references changes.

Needs gufe (the `stratocaster` extra), imported when first used. Decoding a payload imports
the modules its objects name (gufe does this for every object it decodes, as upstream's
Strategist does): the server's data decides which Protocol classes get imported.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.errors import AlchemiscaleError

DEFAULT_RESULT_CACHE_ENTRIES = 20_000
NETWORK_CACHE_ENTRIES = 64


class UndecodableObject(AlchemiscaleError):
    """alchemiscale served a network or result that gufe cannot decode."""


def _gufe_json(text: str) -> Any:
    from gufe.tokenization import JSON_HANDLER, GufeTokenizable

    return GufeTokenizable.from_keyed_chain(json.loads(text, cls=JSON_HANDLER.decoder))


def decode_network(text: str) -> Any:
    """An AlchemicalNetwork from the keyed-chain JSON text of `GET /networks/{sk}`."""
    from gufe import AlchemicalNetwork

    try:
        network = _gufe_json(text)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the same error
        raise UndecodableObject(
            f"the network's keyed chain does not decode with gufe: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(network, AlchemicalNetwork):
        raise UndecodableObject(f"GET /networks/... decoded to {type(network).__name__}, not an AlchemicalNetwork")
    return network


def decode_protocol_dag_result(payload: bytes) -> Any:
    """A ProtocolDAGResult from its stored bytes: zstd-compressed JSON, or plain JSON (upstream's fallback)."""
    import zstandard
    from gufe.protocols import ProtocolDAGResult

    try:
        text = zstandard.ZstdDecompressor().decompressobj().decompress(payload).decode("utf-8")
    except zstandard.ZstdError:
        text = payload.decode("utf-8", errors="strict")
    try:
        result = _gufe_json(text)
    except Exception as exc:  # noqa: BLE001
        raise UndecodableObject(f"a ProtocolDAGResult does not decode with gufe: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, ProtocolDAGResult):
        raise UndecodableObject(f"a result payload decoded to {type(result).__name__}, not a ProtocolDAGResult")
    return result


@dataclass(frozen=True)
class CacheStats:
    entries: int
    capacity: int
    hits: int
    misses: int
    evictions: int


class ResultCache:
    """A bounded LRU map with hit, miss and eviction counts."""

    def __init__(self, capacity: int = DEFAULT_RESULT_CACHE_ENTRIES) -> None:
        if capacity < 1:
            raise ValueError("the result cache needs room for at least one entry")
        self.capacity = capacity
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Any) -> Any | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
            self.evictions += 1

    def peek(self, key: Any) -> Any | None:
        """Like `get`, without counting a hit or a miss."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def __contains__(self, key: Any) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def stats(self) -> CacheStats:
        return CacheStats(len(self._items), self.capacity, self.hits, self.misses, self.evictions)


@dataclass(frozen=True)
class GufeInputs:
    """What `Strategy.propose` is given: the network and its results keyed by transformation gufe key."""

    network: Any
    protocol_results: dict[Any, Any]
    results_fetched: int  # ProtocolDAGResults downloaded for this call (cache misses)


class GufeObjects:
    """One per operator, shared by every resource: decoded networks and results, by server."""

    def __init__(
        self, result_capacity: int = DEFAULT_RESULT_CACHE_ENTRIES, *, offload: Callable[..., Any] | None = None
    ) -> None:
        self.results = ResultCache(result_capacity)
        self._networks: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._gathered: dict[tuple[str, str], tuple[frozenset[str], Any]] = {}
        # CPU-heavy decoding runs off the event loop; tests may pass a plain call.
        self._offload = offload or asyncio.to_thread

    async def network(self, client: AlchemiscaleClient, network: str) -> Any:
        key = (client.url, network)
        found = self._networks.get(key)
        if found is not None:
            self._networks.move_to_end(key)
            return found
        text = await client.network_text(network)
        decoded = await self._offload(decode_network, text)
        self._networks[key] = decoded
        while len(self._networks) > NETWORK_CACHE_ENTRIES:
            self._networks.popitem(last=False)
        return decoded

    async def inputs(
        self,
        client: AlchemiscaleClient,
        network_key: str,
        result_refs: Mapping[str, Iterable[str]],
        *,
        concurrency: int = 8,
    ) -> GufeInputs:
        """The network and, for each of its transformations, the ProtocolResult of `result_refs[sk]`.

        `result_refs` maps a transformation's scoped key to its successful result references
        (the snapshotter's listing); transformations without references get None, as upstream.
        """
        network = await self.network(client, network_key)
        scope = network_key.split("-", 2)[2]
        edges = {f"{edge.key}-{scope}": edge for edge in network.edges}
        unknown = sorted(set(result_refs) - set(edges))
        if unknown:
            raise UndecodableObject(
                f"{len(unknown)} transformation(s) of the listing are not edges of the decoded network, e.g. {unknown[0]}"
            )

        wanted = {sk: frozenset(result_refs.get(sk, ())) for sk in edges}
        needed = {(sk, ref) for sk, refs in wanted.items() for ref in refs}
        missing = sorted(item for item in needed if (client.url, item[1]) not in self.results)
        self.results.hits += len(needed) - len(missing)
        self.results.misses += len(missing)
        limit = asyncio.Semaphore(concurrency)

        async def fetch(item: tuple[str, str]) -> None:
            transformation, ref = item
            async with limit:
                payload = await client.result_payload(transformation, ref)
            # Kept as each arrives: a pass abandoned half-way (timeout, outage) keeps what it fetched.
            self.results.put((client.url, ref), await self._offload(decode_protocol_dag_result, payload))

        await asyncio.gather(*(fetch(item) for item in missing))

        protocol_results: dict[Any, Any] = {}
        for sk, edge in edges.items():
            refs = wanted[sk]
            if not refs:
                protocol_results[edge.key] = None
                continue
            cached = self._gathered.get((client.url, sk))
            if cached is not None and cached[0] == refs:
                protocol_results[edge.key] = cached[1]
                continue
            pdrs = []
            for ref in sorted(refs):
                pdr = self.results.peek((client.url, ref))
                if pdr is None:  # evicted while this call fetched others: fetch it again
                    pdr = decode_protocol_dag_result(await client.result_payload(sk, ref))
                    self.results.put((client.url, ref), pdr)
                pdrs.append(pdr)
            gathered = edge.gather(pdrs)
            self._gathered[(client.url, sk)] = (refs, gathered)
            protocol_results[edge.key] = gathered
        return GufeInputs(network, protocol_results, len(missing))
