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


def test_a_revoked_partition_that_goes_elsewhere_is_dropped():
    t = OffsetTracker()
    t.start("p0", 3)
    t.revoke("p0")
    assert t.committable() == {}  # not ours to commit while the group decides
    t.assign({"p1"})
    t.finish("p0", 3)  # a task that finishes after the partition went elsewhere is harmless
    assert t.committable() == {} and t.position("p0") is None
    t.start("p0", 9)  # assigned again later: starts afresh
    t.finish("p0", 9)
    assert t.committable() == {"p0": 10}


def test_a_revoked_partition_that_comes_back_goes_on_from_its_records_in_flight():
    """The consumer may resume after records still in flight instead of delivering them again: once they
    finish, their offsets are committed (they were forgotten at the revocation, and the group's committed
    offset of a quiet partition stayed behind for good)."""
    t = OffsetTracker()
    for offset in (2, 3, 4, 5):
        t.start("p0", offset)
    t.revoke("p0")
    t.assign({"p0", "p1"})
    for offset in (2, 3, 4, 5):
        t.finish("p0", offset)
    assert t.committable() == {"p0": 6}