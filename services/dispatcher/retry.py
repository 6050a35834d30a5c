"""How long to wait between tries of a worker call (pure).

Which failures are retried is the error type's own ``retryable`` (``core.errors``): a worker that is
restarting, full or too slow may answer the next try; a bad request fails the same way every time, so
its record goes to the DLQ at once.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra tries after the first; try n waits a uniform random time in
    [initial/2, min(maximum, initial * 2**n)] (jitter, so streams that lost one worker do not
    retry in lockstep, with a floor so a retry is never immediate)."""

    retries: int = 6
    initial_s: float = 0.2
    maximum_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.maximum_s, self.initial_s * 2.0 ** min(attempt, 32))
        low = min(self.initial_s / 2.0, ceiling)
        return (rng or random).uniform(low, ceiling)
