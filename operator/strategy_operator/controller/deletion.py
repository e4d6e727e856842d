"""`spec.cancelTasksOnDelete`: un-action the network's tasks when its NetworkStrategy is deleted.

Resolves the server through `resolve.py`, exactly as a pass does (so a Secret not bound to
the server is refused here too, and nothing is sent). Transient failures are
retried by Kopf a few times; after that, or on any other failure, the deletion goes ahead
and a Warning event says the tasks were not cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import AlchemiscaleError, TransientError
from strategy_operator.controller.credentials_policy import CredentialsPolicyError
from strategy_operator.controller.resolve import IterationError, resolve, verify_of
from strategy_operator.controller.runtime import Runtime
from strategy_operator.controller.secrets import CredentialsSecretError, CredentialsSecretUnavailable
from strategy_operator.text import bound_head, scrub

# Kopf's retry count at which the last attempt runs (the handler is registered with retries=5).
LAST_RETRY = 4


async def cancel_actioned_tasks(runtime: Runtime, raw_spec: Mapping[str, Any], namespace: str) -> tuple[int, str]:
    """Un-action every task actioned on the network's TaskHub (what the hub actions, whoever actioned it)."""
    resolved = await resolve(raw_spec, namespace, runtime.config, runtime.runner.secrets)
    holder = object()
    credentials = Credentials(resolved.credentials.identifier, resolved.credentials.key)
    client = await runtime.pool.acquire(holder, resolved.server.url, credentials, verify_of(runtime.config))
    try:
        network = resolved.spec.network
        actioned = await client.network_actioned_tasks(network)
        answer = await client.cancel_tasks(network, actioned) if actioned else []
    finally:
        await runtime.pool.release(holder)
    return sum(1 for task in answer if task is not None), resolved.spec.network


async def on_delete(
    runtime: Runtime, body: kopf.Body, spec: Mapping[str, Any], namespace: str, retry: int, log: Any
) -> None:
    if not runtime.acting:
        raise kopf.TemporaryError("this replica lost the leadership", delay=max(1.0, runtime.config.tick))
    try:
        cancelled, network = await cancel_actioned_tasks(runtime, spec, namespace)
    except (TransientError, CredentialsSecretUnavailable) as exc:
        what = "the Kubernetes API" if isinstance(exc, CredentialsSecretUnavailable) else "alchemiscale"
        if retry >= LAST_RETRY:
            message = f"could not cancel the network's actioned tasks, {what} unreachable: {exc}"
            log.warning(message)
            kopf.warn(body, reason="CancelOnDeleteFailed", message=bound_head(message))
            return
        raise kopf.TemporaryError(f"{what} unreachable, retrying: {exc}", delay=max(1.0, runtime.config.tick)) from None
    except (IterationError, AlchemiscaleError, CredentialsSecretError, CredentialsPolicyError) as exc:
        message = bound_head(scrub(f"tasks were not cancelled: {type(exc).__name__}: {exc}"))
        log.warning(message)
        kopf.warn(body, reason="CancelOnDeleteFailed", message=message)
        return
    message = f"cancelled {cancelled} task(s) actioned on the TaskHub of {network}"
    log.info(message)
    kopf.info(body, reason="TasksCancelled", message=message)
