"""Waiting in tests: on a condition, with a deadline, never a fixed sleep.

    value = wait_until("the first entry", lambda: store.entries(sid), timeout_s=30)
    await until("the request to queue", lambda: len(batcher.queue) == 1)

Both poll ``check`` every ``every_s`` and return its first truthy value; past ``timeout_s`` they raise
AssertionError naming ``what``, the last value and, if given, ``detail()`` (a log tail, say).
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable


def _timed_out(what: str, timeout_s: float, value: object, detail: Callable[[], str] | None) -> AssertionError:
    extra = f"\n{detail()}" if detail is not None else ""
    return AssertionError(f"timed out after {timeout_s:g} s waiting for {what} (last: {value!r}){extra}")


def wait_until(what: str, check: Callable[[], object], timeout_s: float, every_s: float = 0.5,
               detail: Callable[[], str] | None = None):
    """``check()``'s first truthy value (see the module docstring); blocks the calling thread meanwhile."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout_s, value, detail)
        time.sleep(every_s)  # the poll interval, not a wait for something to happen


async def until(what: str, check: Callable[[], object], timeout_s: float = 10.0, every_s: float = 0.005,
                detail: Callable[[], str] | None = None):
    """``wait_until`` inside an event loop: the loop runs other tasks between checks."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout_s, value, detail)
        await asyncio.sleep(every_s)  # the poll interval, not a wait for something to happen
