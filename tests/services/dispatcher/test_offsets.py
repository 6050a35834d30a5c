"""The commit position under out-of-order completion (pure)."""
from __future__ import annotations

from services.dispatcher.offsets import OffsetTracker


def test_out_of_order_completion_never_commits_past_an_unfinished_record():
    t = OffsetTracker()
    for offset in (5, 6, 7):
        t.start("p0", offset)
    t.finish("p0", 7)
    t.finish("p0", 6)
    assert t.committable() == {"p0": 5}  # 5 is still in flight: re-read from 5
    t.committed("p0", 5)
    assert t.committable() == {}
    t.finish("p0", 5)
    assert t.committable() == {"p0": 8}  # everything up to 7 done: next to read is 8
    t.committed("p0", 8)
    assert t.committable() == {} and t.in_flight() == 0


def test_partitions_are_independent():
    t = OffsetTracker()
    t.start("p0", 0)
    t.start("p1", 10)
    t.finish("p1", 10)
    assert t.committable() == {"p0": 0, "p1": 11}
    assert t.in_flight("p0") == 1 and t.in_flight("p1") == 0


def test_forget_drops_a_revoked_partition():
    t = OffsetTracker()
    t.start("p0", 3)
    t.forget("p0")
    t.finish("p0", 3)  # a task that finishes after the revocation is harmless
    assert t.committable() == {} and t.position("p0") is None
    t.start("p0", 9)  # reassigned later: starts afresh
    t.finish("p0", 9)
    assert t.committable() == {"p0": 10}
