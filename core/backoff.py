"""Exponential backoff with full jitter (pure, given its random source).

Attempt n (0-based, counted since the last success) waits a uniform random time
in [0, min(maximum, initial * multiplier**n)]. Full jitter spreads the retries of
many streams that lost the same server, so they do not reconnect in lockstep.
"""
from __future__ import annotations

import random


class Backoff:
    """``next_delay()`` for each retry, ``reset()`` after a success."""

    def __init__(self, initial: float, maximum: float, multiplier: float = 2.0,
                 rng: random.Random | None = None) -> None:
        if not 0 < initial <= maximum or multiplier < 1:
            raise ValueError("need 0 < initial <= maximum and multiplier >= 1")
        self.initial, self.maximum, self.multiplier = initial, maximum, multiplier
        self._rng = rng or random.Random()
        self.failures = 0

    def ceiling(self) -> float:
        """The largest delay the next retry may draw."""
        # min() before the power would overflow for long outages; cap the exponent instead.
        exponent = min(self.failures, 64)
        return min(self.maximum, self.initial * self.multiplier ** exponent)

    def next_delay(self) -> float:
        delay = self._rng.uniform(0.0, self.ceiling())
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
