"""Constants and small helpers shared by the alchemiscale client tests (fixtures: conftest.py)."""

from __future__ import annotations

from strategy_operator.alchemiscale import RetryPolicy

ALICE_KEY = "alice-key-Zq8f1xT0-never-log-me"
SCOPE = "acme-tyk2-run1"
OTHER_SCOPE = "globex-mpro-run1"  # not covered by alice's acme-tyk2-*
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, jitter=0.5)


class FakePlan:
    """Anything with `action`, `create`, `cancel` is a plan to `execute_plan`."""

    def __init__(self, action=(), create=None, cancel=()) -> None:
        self.action = list(action)
        self.create = dict(create or {})
        self.cancel = list(cancel)
