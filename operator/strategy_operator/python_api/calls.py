"""One request to the Kubernetes API, its failures raised as the Python API's errors (errors.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from strategy_operator.api import GROUP, KIND, PLURAL, VERSION
from strategy_operator.python_api.errors import (
    ClusterUnreachable,
    CRDNotInstalled,
    Forbidden,
    InvalidNetworkStrategy,
    NetworkStrategyError,
    Unauthorized,
)

T = TypeVar("T")


def call(
    request: Callable[[], T],
    *,
    host: str,
    what: str,
    listing: bool = False,
    conflict_ok: bool = False,
    missing_ok: bool = False,
) -> T | None:
    """`request()`'s answer; None for a 409 with `conflict_ok` or a 404 with `missing_ok`.

    `host` names the API server and `what` the request in the messages; a 404 on a `listing`
    means the cluster has no NetworkStrategy resources.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return request()
    except ApiException as exc:
        message = _api_message(exc)
        if exc.status == 401:
            raise Unauthorized(f"{host} did not accept the kubeconfig's credentials: {message}") from None
        if exc.status == 403:
            raise Forbidden(f"cannot {what}: {message}") from None
        if exc.status == 404 and listing:
            raise CRDNotInstalled(
                f"{host} has no {KIND} resources ({PLURAL}.{GROUP}/{VERSION}): install the operator's chart "
                "or its CRD (crds/networkstrategies.yaml)"
            ) from None
        if exc.status == 404 and missing_ok:
            return None
        if exc.status == 409 and conflict_ok:
            return None
        if exc.status in (400, 422):
            raise InvalidNetworkStrategy(f"cannot {what}: {message}") from None
        if exc.status == 0 or exc.status is None:
            raise ClusterUnreachable(f"cannot {what}: {host} does not answer ({exc.reason})") from None
        # e.g. 404 for a namespace that does not exist, 5xx from the API server
        raise NetworkStrategyError(f"cannot {what}: HTTP {exc.status}: {message}") from None
    except HTTPError as exc:
        raise ClusterUnreachable(f"cannot {what}: {host} does not answer ({type(exc).__name__}: {exc})") from None


def _api_message(exc: Any) -> str:
    try:
        body = json.loads(exc.body)
        return str(body.get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)
