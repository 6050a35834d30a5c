"""Dynamic batching: concurrent requests of one kind become one model call.

Two layers, so that the policy can be tested without sockets, threads or a clock:

- ``BatchQueue`` (pure, synchronous): pending requests grouped by a *key* (requests with equal keys can
  share a model call: same operation, same prompt and token budget, ...). ``take(now)`` returns the next
  batch: a group that is full (``max_batch_size``) or whose oldest request has waited ``max_wait_s``;
  among ready groups the one with the oldest request goes first, so no key starves. At most ``max_queue``
  requests wait in total; one more raises ``Overloaded`` (RESOURCE_EXHAUSTED over gRPC).
- ``Batcher`` (asyncio): callers ``await submit(key, item)``; one dispatcher task takes batches off the
  queue and runs ``run(key, items) -> results`` in an executor (the model is not thread-safe: give it a
  one-thread executor), so the event loop keeps accepting requests while the model works; requests that
  arrive meanwhile form the next batch. A failing batch of several requests is re-run one by one, so one
  bad request cannot fail its batch-mates. A cancelled request (the client went away) leaves the queue.
  Its time comes from a ``Clock`` (default ``LoopClock``, the event loop's), so that tests can move time
  by hand instead of waiting for it.

``BatchStats`` counts model calls by size; the worker exposes it (``vila-batch-size`` trailing metadata,
logs) so batching can be observed from outside.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from core.errors import Overloaded, Unavailable

log = logging.getLogger("vila.worker.batcher")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)  # identity: two equal requests are still two requests
class Pending(Generic[T]):
    """One waiting request: its payload, when it arrived (caller's clock) and whatever the caller attaches."""

    item: T
    arrived: float
    token: Any = None


class BatchQueue(Generic[T]):
    """The scheduling policy (see the module docstring). Times are plain floats from the caller's clock."""

    def __init__(self, *, max_batch_size: int, max_wait_s: float, max_queue: int) -> None:
        if max_batch_size < 1 or max_wait_s < 0 or max_queue < 1:
            raise ValueError("max_batch_size and max_queue must be >= 1, max_wait_s >= 0")
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._groups: OrderedDict[Hashable, list[Pending[T]]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def ensure_room(self) -> None:
        """Overloaded when ``max_queue`` requests are already waiting."""
        if self._size >= self.max_queue:
            raise Overloaded(f"the worker's queue is full ({self.max_queue} requests waiting); retry later")

    def add(self, key: Hashable, item: T, now: float, token: Any = None) -> Pending[T]:
        """Queue ``item`` under ``key``; Overloaded when ``max_queue`` requests are already waiting."""
        self.ensure_room()
        pending = Pending(item, now, token)
        self._groups.setdefault(key, []).append(pending)
        self._size += 1
        return pending

    def remove(self, key: Hashable, pending: Pending[T]) -> bool:
        """Drop a request that no longer wants an answer; False if it was already taken."""
        group = self._groups.get(key)
        if not group or pending not in group:
            return False
        group.remove(pending)
        self._size -= 1
        if not group:
            del self._groups[key]
        return True

    def next_deadline(self) -> float | None:
        """When the earliest group becomes ready by waiting; None when nothing waits."""
        if not self._groups:
            return None
        return min(group[0].arrived for group in self._groups.values()) + self.max_wait_s

    def take(self, now: float, *, flush: bool = False) -> tuple[Hashable, list[Pending[T]]] | None:
        """The next batch (key, up to ``max_batch_size`` requests, oldest first), or None if none is ready.

        ``flush`` ignores the wait (used when draining on shutdown).
        """
        ready = [(group[0].arrived, key) for key, group in self._groups.items()
                 if flush or len(group) >= self.max_batch_size or now - group[0].arrived >= self.max_wait_s]
        if not ready:
            return None
        _, key = min(ready, key=lambda pair: pair[0])
        group = self._groups[key]
        batch, rest = group[:self.max_batch_size], group[self.max_batch_size:]
        if rest:
            self._groups[key] = rest
        else:
            del self._groups[key]
        self._size -= len(batch)
        return key, batch


@dataclass
class BatchStats:
    """Model calls by batch size, plus refused requests. Read it through ``snapshot()``."""

    sizes: Counter = field(default_factory=Counter)
    rejected: int = 0

    def snapshot(self) -> dict[str, Any]:
        calls = sum(self.sizes.values())
        requests = sum(size * count for size, count in self.sizes.items())
        return {"calls": calls, "requests": requests, "max_batch": max(self.sizes, default=0),
                "sizes": dict(sorted(self.sizes.items())), "rejected": self.rejected}


@dataclass(frozen=True)
class Batched(Generic[R]):
    """A request's answer and the model call it rode in: ``batch_size`` requests, ``run_ms`` of model time."""

    value: R
    batch_size: int
    run_ms: float


RunFn = Callable[[Hashable, Sequence[Any]], Sequence[Any]]


class Clock(Protocol):
    """The batcher's time: ``now()`` in seconds, and ``wait(event, deadline)``, which returns once ``event`` is
    set or ``now()`` has reached ``deadline`` (None: no deadline), whichever comes first."""

    def now(self) -> float: ...

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None: ...


class LoopClock:
    """The running event loop's monotonic clock: the batcher's default."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        timeout = None if deadline is None else max(0.0, deadline - self.now())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass


class Batcher:
    """Runs ``run(key, items)`` for batches of submitted items (see the module docstring).

    ``run`` gets items that share ``key`` and must return one result per item, in order; it runs in
    ``executor``. Arrivals and waits are timed by ``clock`` (default: the event loop's). Start with
    ``start()`` inside the event loop; ``close()`` drains and stops.
    """

    def __init__(self, run: RunFn, executor: Executor, *, max_batch_size: int, max_wait_s: float, max_queue: int,
                 name: str = "batcher", clock: Clock | None = None) -> None:
        self._run = run
        self._executor = executor
        self._clock: Clock = clock or LoopClock()
        self.queue: BatchQueue[Any] = BatchQueue(max_batch_size=max_batch_size, max_wait_s=max_wait_s,
                                                 max_queue=max_queue)
        self.stats = BatchStats()
        self.name = name
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._dispatch(), name=self.name)

    def ensure_room(self) -> None:
        """Overloaded (and counted) when the queue is full: lets a caller refuse before costly preparation."""
        try:
            self.queue.ensure_room()
        except Overloaded:
            self.stats.rejected += 1
            raise

    async def submit(self, key: Hashable, item: Any) -> Batched[Any]:
        """The result of ``item`` once its batch ran. Overloaded when the queue is full; Unavailable when closed;
        whatever ``run`` raised for this item otherwise."""
        if self._task is None or self._closing:
            raise Unavailable("the worker is shutting down" if self._closing else "the batcher is not started")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        try:
            pending = self.queue.add(key, item, self._clock.now(), token=future)
        except Overloaded:
            self.stats.rejected += 1
            raise
        self._wakeup.set()
        try:
            return await future
        except asyncio.CancelledError:
            self.queue.remove(key, pending)  # the caller went away: free its slot
            raise

    async def close(self) -> None:
        """Refuse new items, run every waiting one without waiting for batch-mates, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._wakeup.set()
        await self._task
        self._task = None

    async def _dispatch(self) -> None:
        while True:
            self._wakeup.clear()
            batch = self.queue.take(self._clock.now(), flush=self._closing)
            if batch is not None:
                await self._run_batch(*batch)
                continue
            if self._closing:
                return
            # Until a request arrives (submit sets the event) or the oldest waiting one has waited long enough.
            await self._clock.wait(self._wakeup, self.queue.next_deadline())

    async def _run_batch(self, key: Hashable, batch: list[Pending[Any]]) -> None:
        live = [p for p in batch if not p.token.done()]
        if not live:
            return
        try:
            await self._call(key, live)
        except Exception as exc:
            if len(live) == 1:
                _settle(live[0].token, exc=exc)
                return
            log.info("%s: batch of %d failed (%s); running its requests one by one", self.name, len(live), exc)
            for pending in live:
                try:
                    await self._call(key, [pending])
                except Exception as one:
                    _settle(pending.token, exc=one)

    async def _call(self, key: Hashable, batch: list[Pending[Any]]) -> None:
        loop = asyncio.get_running_loop()
        began = time.perf_counter()  # model time is measured, not scheduled: wall time, whatever the clock
        results = await loop.run_in_executor(self._executor, self._run, key, [p.item for p in batch])
        run_ms = (time.perf_counter() - began) * 1000.0
        if len(results) != len(batch):
            raise RuntimeError(f"{self.name}: {len(results)} results for a batch of {len(batch)}")
        self.stats.sizes[len(batch)] += 1
        log.debug("%s: ran %s x%d in %.1f ms", self.name, key[0] if isinstance(key, tuple) else key,
                  len(batch), run_ms)
        for pending, result in zip(batch, results):
            _settle(pending.token, value=Batched(result, len(batch), run_ms))


def _settle(future: asyncio.Future, *, value: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)
