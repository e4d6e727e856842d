"""Exponential backoff with jitter for transient failures."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried.

    `attempts` counts every try, the first included; delay n (n = 0, 1, ...) is
    `min(max_delay, base_delay * 2**n)` scaled by a random factor in [1 - jitter, 1 + jitter].
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        base = min(self.max_delay, self.base_delay * (2**retry_number))
        factor = 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * factor)


NO_RETRY = RetryPolicy(attempts=1)
