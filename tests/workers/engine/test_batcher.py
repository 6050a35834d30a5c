"""The batching policy (``BatchQueue``, no clock of its own) and the asyncio ``Batcher`` on a hand-moved clock
(``ManualClock``), without sockets."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.errors import InvalidRequest, Overloaded, Unavailable
from tests.support.clock import ManualClock
from tests.support.wait import until
from workers.engine.batcher import Batcher, BatchQueue


def items(batch):
    return [p.item for p in batch[1]] if batch else None


# ---------------------------------------------------------------------- BatchQueue (pure policy)
def test_a_full_group_is_ready_at_once_and_a_partial_one_after_the_wait():
    q = BatchQueue(max_batch_size=3, max_wait_s=0.2, max_queue=10)
    q.add("a", 1, now=0.0)
    q.add("a", 2, now=0.01)
    assert q.take(now=0.05) is None  # two of three, wait not over
    assert q.next_deadline() == pytest.approx(0.2)
    assert items(q.take(now=0.2)) == [1, 2]  # the wait is over: go with what is there
    for i in range(4):
        q.add("a", i, now=1.0)
    assert items(q.take(now=1.0)) == [0, 1, 2]  # full: no waiting, at most max_batch_size
    assert len(q) == 1 and q.take(now=1.0) is None
    assert items(q.take(now=1.3)) == [3]


def test_keys_never_mix():
    q = BatchQueue(max_batch_size=4, max_wait_s=0.0, max_queue=10)
    for i, key in enumerate(["a", "b", "a", "b", "c"]):
        q.add(key, i, now=0.0)
    batches = [q.take(now=0.0) for _ in range(3)]
    assert {key: [p.item for p in batch] for key, batch in batches} == {"a": [0, 2], "b": [1, 3], "c": [4]}
    assert len(q) == 0


def test_ready_groups_are_served_oldest_first():
    q = BatchQueue(max_batch_size=2, max_wait_s=0.1, max_queue=10)
    q.add("late", "L1", now=0.05)
    q.add("early", "E1", now=0.0)
    q.add("late", "L2", now=0.06)
    key, batch = q.take(now=0.07)  # only "late" is ready (full); "early" waits
    assert (key, [p.item for p in batch]) == ("late", ["L1", "L2"])
    q.add("late", "L3", now=0.08)
    key, batch = q.take(now=0.2)  # both ready by wait: "early" has the oldest request
    assert (key, [p.item for p in batch]) == ("early", ["E1"])
    assert items(q.take(now=0.2)) == ["L3"]
    assert q.take(now=9.0) is None and q.next_deadline() is None


def test_the_queue_is_bounded_and_removal_frees_a_slot():
    q = BatchQueue(max_batch_size=4, max_wait_s=1.0, max_queue=2)
    first = q.add("a", 1, now=0.0)
    q.add("b", 2, now=0.0)
    with pytest.raises(Overloaded, match="queue is full"):
        q.add("a", 3, now=0.0)
    assert q.remove("a", first) and not q.remove("a", first)
    q.add("a", 3, now=0.1)
    assert len(q) == 2


def test_flush_ignores_the_wait():
    q = BatchQueue(max_batch_size=4, max_wait_s=60.0, max_queue=8)
    q.add("a", 1, now=0.0)
    assert q.take(now=0.0) is None
    assert items(q.take(now=0.0, flush=True)) == [1]


def test_zero_wait_sends_every_request_at_once():
    q = BatchQueue(max_batch_size=8, max_wait_s=0.0, max_queue=8)
    q.add("a", 1, now=5.0)
    assert items(q.take(now=5.0)) == [1]


# ---------------------------------------------------------------------- Batcher (asyncio + executor)
class Recorder:
    """A batch function that records its calls: doubles numbers, refuses negatives (like a bad request)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.gate = gate
        self.started = 0  # calls that have begun (a gated one is in the model, not yet in calls)

    def __call__(self, key, values):
        self.started += 1
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append((key, list(values)))
        if any(v < 0 for v in values):
            raise InvalidRequest(f"negative value in {list(values)}")
        return [2 * v for v in values]


async def _with_batcher(run, body, clock=None, **limits):
    executor = ThreadPoolExecutor(max_workers=1)
    batcher = Batcher(run, executor, **{"max_batch_size": 4, "max_wait_s": 0.25, "max_queue": 16, **limits},
                      clock=clock)
    batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.close()
        executor.shutdown()


def test_concurrent_submissions_share_one_call_and_a_partial_batch_waits_for_the_clock():
    run, clock = Recorder(), ManualClock()

    async def body(batcher):
        calls = asyncio.gather(*(batcher.submit("double", v) for v in range(6)))
        await until("the full batch to run and the rest to wait", lambda: run.calls and clock.deadlines == [0.25])
        assert run.calls == [("double", [0, 1, 2, 3])] and len(batcher.queue) == 2
        clock.advance(0.125)  # not yet
        assert clock.deadlines == [0.25] and len(batcher.queue) == 2
        clock.advance(0.125)
        return await asyncio.wait_for(calls, 10)

    results = asyncio.run(_with_batcher(run, body, clock))
    assert [r.value for r in results] == [0, 2, 4, 6, 8, 10]
    assert run.calls == [("double", [0, 1, 2, 3]), ("double", [4, 5])]
    assert [r.batch_size for r in results] == [4, 4, 4, 4, 2, 2]


def test_a_batch_goes_when_its_oldest_request_has_waited_max_wait():
    run, clock = Recorder(), ManualClock()

    async def body(batcher):
        first = asyncio.ensure_future(batcher.submit("k", 1))
        await until("the batcher to wait for the first request", lambda: clock.deadlines == [0.25])
        clock.advance(0.125)
        second = asyncio.ensure_future(batcher.submit("k", 2))
        await until("the second request to queue", lambda: len(batcher.queue) == 2)
        assert clock.deadlines == [0.25] and run.calls == []  # the oldest request's deadline, not the newest's
        clock.advance(0.125)
        both = await asyncio.wait_for(asyncio.gather(first, second), 10)
        third = asyncio.ensure_future(batcher.submit("k", 3))  # arrives at 0.25: waits until 0.5
        await until("the batcher to wait for the third request", lambda: clock.deadlines == [0.5])
        clock.advance(0.25)
        return [*both, await asyncio.wait_for(third, 10)]

    results = asyncio.run(_with_batcher(run, body, clock))
    assert [(r.value, r.batch_size) for r in results] == [(2, 2), (4, 2), (6, 1)]
    assert run.calls == [("k", [1, 2]), ("k", [3])]


def test_the_default_clock_is_the_event_loops():
    run = Recorder()

    async def body(batcher):
        return await asyncio.wait_for(batcher.submit("k", 5), 10)  # alone: goes once max_wait_s has passed

    result = asyncio.run(_with_batcher(run, body, max_wait_s=0.05))
    assert (result.value, result.batch_size, run.calls) == (10, 1, [("k", [5])])


def test_one_bad_request_does_not_fail_its_batch_mates():
    run, clock = Recorder(), ManualClock()

    async def body(batcher):
        calls = asyncio.gather(*(batcher.submit("double", v) for v in (1, -1, 3)), return_exceptions=True)
        await until("the three to queue", lambda: len(batcher.queue) == 3 and clock.deadlines == [0.25])
        clock.advance(0.25)
        return await asyncio.wait_for(calls, 10)

    one, bad, three = asyncio.run(_with_batcher(run, body, clock))
    assert (one.value, three.value) == (2, 6) and isinstance(bad, InvalidRequest)
    assert run.calls[0] == ("double", [1, -1, 3])  # tried together first, then one by one
    assert ("double", [1]) in run.calls and ("double", [3]) in run.calls
    assert (one.batch_size, three.batch_size) == (1, 1)


def test_full_queue_is_refused_while_the_model_is_busy_and_counted():
    gate = threading.Event()
    run = Recorder(gate)

    async def body(batcher):
        busy = asyncio.ensure_future(batcher.submit("k", 1))  # taken at once (wait 0), blocks in the model
        await until("the first request to reach the model", lambda: run.started == 1)
        queued = [asyncio.ensure_future(batcher.submit("k", v)) for v in (2, 3)]
        await until("two requests waiting", lambda: len(batcher.queue) == 2)
        with pytest.raises(Overloaded):
            await batcher.submit("k", 4)
        gate.set()
        return await asyncio.wait_for(asyncio.gather(busy, *queued), 10), batcher.stats.snapshot()

    results, stats = asyncio.run(_with_batcher(run, body, ManualClock(), max_batch_size=2, max_wait_s=0.0,
                                               max_queue=2))
    assert [r.value for r in results] == [2, 4, 6]
    assert stats["rejected"] == 1 and stats["requests"] == 3


def test_a_cancelled_request_leaves_the_queue():
    run = Recorder()

    async def body(batcher):
        waiting = asyncio.ensure_future(batcher.submit("k", 1))
        await until("the request to queue", lambda: len(batcher.queue) == 1)
        waiting.cancel()
        await until("the cancelled request to leave the queue", lambda: len(batcher.queue) == 0)
        return waiting.cancelled()

    assert asyncio.run(_with_batcher(run, body, ManualClock(), max_wait_s=5.0))
    assert run.calls == []


def test_close_answers_what_is_queued_then_refuses():
    run = Recorder()

    async def body(batcher):
        pending = [asyncio.ensure_future(batcher.submit("k", v)) for v in (1, 2)]
        await until("both requests to queue", lambda: len(batcher.queue) == 2)
        await batcher.close()  # the clock never moves: close must not wait for max_wait_s
        with pytest.raises(Unavailable, match="shutting down"):
            await batcher.submit("k", 3)
        return [p.result().value for p in pending]

    assert asyncio.run(_with_batcher(run, body, ManualClock(), max_wait_s=60.0)) == [2, 4]
