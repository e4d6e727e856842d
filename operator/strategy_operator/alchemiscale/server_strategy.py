"""A strategy stored on the alchemiscale server, for upstream's Strategist: a second owner of the network.

alchemiscale keeps at most one strategy per network (`set_network_strategy`), and its
Strategist service runs every stored strategy whose mode is not `disabled`. A network driven
by both that service and this operator would get two plans from one snapshot, doubling the
tasks. So before acting the operator reads the network's stored strategy state: none, or
one in mode `disabled`, is fine; any other refuses the pass, unless the resource takes the
network over, in which case the stored strategy is re-posted with mode `disabled`, its
settings and every state field kept (undo: set it again with the mode wanted).
"""

from __future__ import annotations

from typing import Any

from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.errors import AlchemiscaleError

TAKE_OVER_FIELD = "spec.takeOverServerStrategy"


class ServerStrategyActive(AlchemiscaleError):
    """The server holds an active strategy for the network, and the resource did not take it over."""


def _describe(chain: Any, state: dict[str, Any]) -> str:
    name = None
    if isinstance(chain, list) and chain and isinstance(chain[-1], list) and len(chain[-1]) == 2:
        body = chain[-1][1]
        name = body.get("__qualname__") if isinstance(body, dict) else None
    what = f"a {name}" if isinstance(name, str) else "a strategy"
    return f"{what} (mode {state.get('mode', 'partial')}, status {state.get('status', 'awake')})"


async def check_server_strategy(client: AlchemiscaleClient, network: str, *, take_over: bool) -> str | None:
    """Raise `ServerStrategyActive` when upstream's Strategist would also act on `network`.

    With `take_over`, disable the stored strategy instead and return what was done (for an
    event); None when there was nothing to do.
    """
    state = await client.network_strategy_state(network)
    if not isinstance(state, dict) or state.get("mode") == "disabled":
        return None
    chain = await client.network_strategy(network)
    if chain is None:
        return None  # removed between the two reads
    described = _describe(chain, state)
    if not take_over:
        raise ServerStrategyActive(
            f"the alchemiscale server holds {described} for network {network}, which upstream's Strategist "
            f"runs; two owners would both create tasks. Remove it (set_network_strategy(network, None)), or set "
            f"{TAKE_OVER_FIELD}: true to have the operator disable it on the server and run this resource "
            "instead; then wake this resource (annotate it with a new alchemiscale.org/wake value)"
        )
    await client.set_network_strategy(network, chain, {**state, "mode": "disabled"})
    return (
        f"took network {network} over from the server-side strategy: {described} is now mode disabled "
        "on the server (its settings and state are kept)"
    )
