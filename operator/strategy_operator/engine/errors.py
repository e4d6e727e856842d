"""Errors raised by the engine."""

from __future__ import annotations


class StrategyError(ValueError):
    """The strategy itself failed: invalid weights, or none it could normalise.

    Unlike a malformed snapshot this is a failure of the strategy or the data it was
    given, so the operator records it as the resource's `error` status.
    """
