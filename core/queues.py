"""A bounded hand-off queue between the decoder thread and the model."""
from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedQueue(Generic[T]):
    """A bounded FIFO with two overflow policies.

    ``drop_oldest=True`` (live sources): a full queue discards its oldest item and
    counts it in ``dropped``, so a slow model never stalls the decoder (a live
    camera cannot wait). ``drop_oldest=False`` (files): ``put`` waits for room,
    since a file can be read at the model's pace without losing anything.
    """

    def __init__(self, maxsize: int, *, drop_oldest: bool):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()

    def put(self, item: T, *, stop: threading.Event | None = None) -> bool:
        """Adds ``item``; returns False if ``stop`` was set while waiting for room."""
        with self._cond:
            while len(self._items) >= self.maxsize:
                if self.drop_oldest:
                    self._items.popleft()
                    self.dropped += 1
                    break
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(timeout=0.1)
            self._items.append(item)
            self._cond.notify_all()
            return True

    def put_final(self, item: T) -> None:
        """Adds an end marker, never dropped and never blocked."""
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float) -> T | None:
        """The oldest item, or None after ``timeout`` seconds without one."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout=timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def get_nowait(self) -> T | None:
        with self._cond:
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item
