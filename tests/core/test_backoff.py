"""Exponential backoff with full jitter."""
import random

from core.backoff import Backoff


def test_ceiling_grows_by_the_multiplier_up_to_the_cap():
    backoff = Backoff(0.5, 4.0, 2.0, random.Random(1))
    ceilings = []
    for _ in range(6):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.ceiling() == 0.5


def test_delays_are_full_jitter_within_the_ceiling():
    backoff = Backoff(1.0, 1.0, 3.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(500)]
    assert all(0.0 <= d <= 1.0 for d in delays)
    # full jitter: spread over the whole range, not clustered near the ceiling
    assert min(delays) < 0.05 and max(delays) > 0.95
    assert 0.4 < sum(delays) / len(delays) < 0.6


def test_long_outages_do_not_overflow():
    backoff = Backoff(0.1, 10.0, 10.0, random.Random(0))
    for _ in range(2000):
        assert backoff.next_delay() <= 10.0
