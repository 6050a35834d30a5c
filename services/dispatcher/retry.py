"""Which worker failures are retried, and how long to wait between tries (pure)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import grpc

#: Failures that say "not now" (a worker restarting, full, slow): another try may succeed.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.DEADLINE_EXCEEDED})


def is_retryable(code: grpc.StatusCode) -> bool:
    """True for UNAVAILABLE, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED; everything else (INVALID_ARGUMENT
    above all) fails the same way every time, so the record goes to the DLQ at once."""
    return code in RETRYABLE


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
