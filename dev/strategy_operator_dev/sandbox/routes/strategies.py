"""Strategies: set, get, state, status, awake."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError

from strategy_operator_dev.sandbox.auth import TokenData
from strategy_operator_dev.sandbox.routes.common import (
    SandboxRoute,
    authorized_sk,
    state_of,
    token_data,
)
from strategy_operator_dev.sandbox.state import (
    ServerFault,
    strategy_state_json,
)

router = APIRouter(dependencies=[Depends(token_data)], route_class=SandboxRoute)


def _check_keyed_chain(chain: Any) -> list[Any]:
    if not isinstance(chain, list) or not chain:
        raise ValueError("a strategy must be a non-empty keyed chain: a list of [gufe_key, dict] pairs")
    for i, entry in enumerate(chain):
        if not (
            isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict)
        ):
            raise ValueError(f"keyed chain entry {i} is not a [gufe_key, dict] pair")
        if len(entry[0].split("-")) != 2 or "__qualname__" not in entry[1]:
            raise ValueError(f"keyed chain entry {i} lacks a '<qualname>-<token>' key or a '__qualname__'")
    return chain


@router.post("/networks/{network_scoped_key}/strategy")
async def set_network_strategy(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    sk = authorized_sk(network_scoped_key, token)
    try:
        body = json.loads((await request.body()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServerFault(f"strategy body is not JSON: {exc}") from None
    try:
        chain = body.pop("strategy")
        if chain is not None:
            _check_keyed_chain(chain)
    except Exception as exc:  # upstream reports any decoding problem as a 422 string
        raise HTTPException(422, str(exc)) from None
    sandbox = state_of(request)
    if chain is None:
        return sandbox.set_strategy(sk, None, {})
    try:
        return sandbox.set_strategy(sk, chain, body)
    except ValidationError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/networks/{network_scoped_key}/strategy")
async def get_network_strategy(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    record = state_of(request).strategy(str(authorized_sk(network_scoped_key, token)))
    return record.chain if record is not None else None


@router.get("/networks/{network_scoped_key}/strategy/state")
async def get_network_strategy_state(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> Any:
    record = state_of(request).strategy(str(authorized_sk(network_scoped_key, token)))
    return strategy_state_json(record.state) if record is not None else None


@router.get("/networks/{network_scoped_key}/strategy/status")
async def get_network_strategy_status(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    record = state_of(request).strategy(str(authorized_sk(network_scoped_key, token)))
    return record.state["status"] if record is not None else None


@router.post("/networks/{network_scoped_key}/strategy/awake")
async def set_network_strategy_awake(
    network_scoped_key: str, request: Request, token: TokenData = Depends(token_data)
) -> str | None:
    return state_of(request).awaken_strategy(str(authorized_sk(network_scoped_key, token)))
