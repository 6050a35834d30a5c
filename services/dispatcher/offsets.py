"""Which offsets may be committed, when records finish out of order.

Records are processed concurrently, so record 7 of a partition may finish before record 5.
Committing 8 then would lose 5 and 6 if the process died. ``OffsetTracker`` commits a
partition only up to its lowest unfinished offset: the committed offset is always the next
record to re-read, and everything before it is finished (at-least-once, never at-most-once).
"""
from __future__ import annotations

import threading
from typing import Hashable


class OffsetTracker:
    """Per partition: the offsets started, finished, and the commit position reached.

    ``start(p, o)`` when a record is taken, ``finish(p, o)`` when its outcome is acknowledged
    by Kafka, ``committable()`` -> ``{p: offset}`` for partitions whose commit position moved
    (the offset to commit = the next one to read), ``committed(p, o)`` after a commit succeeded,
    ``revoke(p)`` when a partition is revoked and ``assign(ps)`` when the group's new assignment
    arrives. Thread-safe (the rebalance listener runs in the consumer's thread).

    A revoked partition is not committed, but its records in flight are kept until the assignment is known:
    a partition that comes back to this member goes on from them (the consumer may resume after them instead
    of delivering them again, and their offsets must still be committed once they finish); one that went to
    another member is dropped, its unfinished records the new owner's to redo.
    """

    def __init__(self) -> None:
        self._pending: dict[Hashable, set[int]] = {}
        self._high: dict[Hashable, int] = {}  # one past the highest offset started
        self._committed: dict[Hashable, int] = {}
        self._revoked: set[Hashable] = set()
        self._lock = threading.Lock()

    def start(self, partition: Hashable, offset: int) -> None:
        with self._lock:
            self._pending.setdefault(partition, set()).add(offset)
            self._high[partition] = max(self._high.get(partition, 0), offset + 1)

    def finish(self, partition: Hashable, offset: int) -> None:
        with self._lock:
            pending = self._pending.get(partition)
            if pending is not None:
                pending.discard(offset)

    def position(self, partition: Hashable) -> int | None:
        """The offset that may be committed now: the lowest unfinished one, else one past the highest."""
        with self._lock:
            return self._position(partition)

    def _position(self, partition: Hashable) -> int | None:
        pending = self._pending.get(partition)
        if pending:
            return min(pending)
        return self._high.get(partition)

    def committable(self) -> dict[Hashable, int]:
        """Partitions whose position moved past their last commit, with that position."""
        with self._lock:
            moves = {}
            for partition in self._high.keys() - self._revoked:
                position = self._position(partition)
                if position is not None and position > self._committed.get(partition, -1):
                    moves[partition] = position
            return moves

    def committed(self, partition: Hashable, offset: int) -> None:
        with self._lock:
            if partition in self._high:
                self._committed[partition] = max(self._committed.get(partition, -1), offset)

    def in_flight(self, partition: Hashable | None = None) -> int:
        with self._lock:
            if partition is not None:
                return len(self._pending.get(partition, ()))
            return sum(len(p) for p in self._pending.values())

    def revoke(self, partition: Hashable) -> None:
        """Stop committing ``partition`` until ``assign`` says whether it came back."""
        with self._lock:
            self._revoked.add(partition)

    def assign(self, partitions) -> None:
        """The new assignment: revoked partitions in it go on where they were, the others are dropped."""
        with self._lock:
            for partition in self._revoked - set(partitions):
                self._pending.pop(partition, None)
                self._high.pop(partition, None)
                self._committed.pop(partition, None)
            self._revoked.clear()
