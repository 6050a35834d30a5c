"""``ManualClock``: a ``workers.engine.batcher.Clock`` whose time moves only when a test moves it.

    clock = ManualClock()
    batcher = Batcher(run, executor, ..., clock=clock)
    await until("the batcher to wait for 0.2", lambda: clock.deadlines == [0.2])
    clock.advance(0.2)  # wakes every waiter whose deadline has come

``deadlines`` lists what the parked waiters wait for (None: only for their event), so a test can see
that the batcher is waiting, and until when, before it moves time.
"""
from __future__ import annotations

import asyncio


class ManualClock:
    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self._waiters: list[tuple[asyncio.Event, float | None]] = []

    def now(self) -> float:
        return self.time

    @property
    def deadlines(self) -> list[float | None]:
        return [deadline for _, deadline in self._waiters]

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        if deadline is not None and self.time >= deadline:
            return
        waiter = (event, deadline)
        self._waiters.append(waiter)
        try:
            await event.wait()
        finally:
            self._waiters.remove(waiter)

    def advance(self, seconds: float) -> None:
        """Move time on; call it from the event loop's thread (an async test body)."""
        self.time += seconds
        for event, deadline in self._waiters:
            if deadline is not None and self.time >= deadline:
                event.set()  # the waiter returns as if its deadline had passed
