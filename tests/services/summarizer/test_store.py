"""SummaryStore against a real Redis: idempotent writes, replacement rule, incremental segments and summary."""
from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest
import redis
import redis.asyncio as aioredis

from services.aggregation import StreamAggregator
from core.errors import InvalidInput, UnknownStream
from core.types import StreamEvent, StreamState
from services.summarizer import keys
from services.summarizer.keys import StreamKeys
from services.summarizer.reader import SummaryReader
from services.summarizer.records import result_rank
from services.summarizer.store import SummaryStore
from tests.services.summarizer.helpers import new_stream_id, result


@pytest.fixture
def client(redis_server):
    c = redis_server.client()  # shared with other tests: every test uses stream ids of its own
    yield c
    c.close()


@pytest.fixture
def store(client):
    return SummaryStore(client)


def read(redis_server, method: str, *args):
    """Calls ``SummaryReader.method(*args)`` on a fresh asyncio client."""
    async def go():
        conn = aioredis.Redis.from_url(redis_server.url)
        try:
            return await getattr(SummaryReader(conn), method)(*args)
        finally:
            await conn.aclose()
    return asyncio.run(go())


def test_same_result_twice_is_one_entry_and_counts_once(store, client, redis_server):
    sid = new_stream_id()
    first = [result(sid, i) for i in range(6)] + [result(sid, 6, error="model timed out")]
    counts = store.write_results(first)
    assert (counts.new, counts.unchanged) == (7, 0)
    again = store.write_results(first[2:])  # a redelivered batch
    assert (again.new, again.replaced, again.unchanged) == (0, 0, 5)
    k = StreamKeys(sid)
    assert client.zcard(k.timeline) == 7 and client.hlen(k.entries) == 7
    assert client.zcard(k.failed) == 1
    [info] = [s for s in read(redis_server, "list_streams") if s.stream_id == sid]
    assert (info.windows, info.first_start, info.last_end) == (7, 0.0, 14.0)
    summary = read(redis_server, "summary", sid)
    assert summary.windows == 7 and summary.text.startswith("6 windows over")
    assert "1 window(s) could not be analysed" in summary.text
    # a redelivery pushes nothing to watchers
    pushed = [f for _, f in client.xrange(keys.UPDATES) if f[b"stream"] == sid.encode()]
    assert len(pushed) == 7


def test_replacement_rule_cloud_beats_edge_success_beats_failure(store, client, redis_server):
    sid = new_stream_id()
    edge = result(sid, 0, caption="a dog")
    cloud = replace(edge, caption="a brown dog runs", tier="cloud")
    assert store.write_results([edge]).new == 1
    assert store.write_results([cloud]).replaced == 1
    assert store.write_results([edge]).kept == 1  # a late edge answer never downgrades the cloud one
    failed = replace(edge, caption="", actions=(), error="worker unavailable", tier="cloud")
    assert store.write_results([failed]).kept == 1
    [entry] = read(redis_server, "timeline", sid)
    assert entry.caption == "a brown dog runs" and not entry.error
    assert client.zcard(StreamKeys(sid).failed) == 0
    # a failed window that later succeeds leaves the failed set
    bad = result(sid, 1, error="timeout")
    store.write_results([bad])
    assert client.zcard(StreamKeys(sid).failed) == 1
    store.write_results([result(sid, 1)])
    assert client.zcard(StreamKeys(sid).failed) == 0


@pytest.mark.parametrize("seed", range(12))
def test_incremental_segments_and_summary_equal_the_aggregation(store, redis_server, seed):
    """Batches in any order, redeliveries and escalations: what is stored equals a fresh aggregation."""
    rng = random.Random(seed)
    sid = new_stream_id()
    captions = ["a person walks", "A person walks.", "a car", ""]
    base = [result(sid, i, caption=rng.choice(captions), error="boom" if rng.random() < 0.12 else "")
            for i in range(70)]
    escalated = [replace(base[i], caption=rng.choice(captions), tier="cloud", error="")
                 for i in rng.sample(range(70), 12)]
    stream = base + escalated + rng.sample(base, 10)  # plus redeliveries
    for _ in range(8):  # some late arrivals
        i, j = rng.randrange(len(stream)), rng.randrange(len(stream))
        stream[i], stream[j] = stream[j], stream[i]
    best: dict[str, object] = {}
    for r in stream:
        if r.window_id not in best or result_rank(r) >= result_rank(best[r.window_id]):
            best[r.window_id] = r
    expected = StreamAggregator(sid)
    for r in best.values():
        expected.add(r)
    i = 0
    while i < len(stream):
        n = rng.randint(1, 9)
        store.write_results(stream[i:i + n])
        i += n
    assert read(redis_server, "timeline", sid) == expected.timeline()
    assert read(redis_server, "segments", sid) == expected.segments()
    assert read(redis_server, "summary", sid) == expected.summary()


def test_range_queries_are_half_open_by_window_start(store, redis_server):
    sid = new_stream_id()
    store.write_results([result(sid, i) for i in range(10)])  # windows start at 0, 2, ..., 18
    starts = [e.start for e in read(redis_server, "timeline", sid, 4.0, 10.0)]
    assert starts == [4.0, 6.0, 8.0]
    assert [e.start for e in read(redis_server, "timeline", sid, 16.0, 0.0)] == [16.0, 18.0]
    assert len(read(redis_server, "timeline", sid, 0.0, 0.0)) == 10
    assert read(redis_server, "timeline", sid, 100.0, 200.0) == []
    # segments overlapping [5, 7): captions change every 3 windows -> segments [0,6) and [6,12)
    segs = read(redis_server, "segments", sid, 5.0, 7.0)
    assert [(s.start, s.end) for s in segs] == [(0.0, 6.0), (6.0, 12.0)]
    assert segs[1].window_ids == tuple(result(sid, i).window_id for i in (3, 4, 5))
    for bad in ((5.0, 5.0), (6.0, 2.0), (-1.0, 0.0), (float("nan"), 0.0)):
        with pytest.raises(InvalidInput):
            read(redis_server, "timeline", sid, *bad)
    with pytest.raises(UnknownStream):
        read(redis_server, "timeline", "never-seen", 0.0, 0.0)


def test_events_are_idempotent_and_state_only_moves_forward(store, client, redis_server):
    sid = new_stream_id()
    live = StreamEvent(sid, StreamState.LIVE, 1000.0, extra={"source": "rtsp://cam/1"})
    stalled = StreamEvent(sid, StreamState.STALLED, 1005.0, detail="no frames for 5 s")
    assert store.write_events([live, stalled]) == 2
    assert store.write_events([live]) == 0  # redelivered old event: not recorded again, state kept
    [info] = [s for s in read(redis_server, "list_streams") if s.stream_id == sid]
    assert (info.state, info.source, info.windows) == (StreamState.STALLED, "rtsp://cam/1", 0)
    assert read(redis_server, "events", sid) == [live, stalled]
    assert read(redis_server, "summary", sid).text == "No windows yet."


def test_every_key_is_under_the_vila_prefix(store, client):
    sid = new_stream_id()
    store.write_results([result(sid, i) for i in range(4)])
    store.write_events([StreamEvent(sid, StreamState.LIVE, 1.0)])
    names = {k.decode() for k in client.keys(f"*{sid}*")}
    assert names == {f"vila:stream:{sid}:{suffix}" for suffix in (
        "meta", "timeline", "entries", "segments", "segment_runs", "summary", "events")}
    assert client.sismember("vila:streams", sid) and client.exists("vila:updates")


@pytest.mark.parametrize("start,end", [(float("nan"), 1.0), (2.0, float("inf")), (3.0, 1.0), (-1.0, 1.0)])
def test_an_impossible_time_span_writes_nothing_at_all(store, client, start, end):
    """The write script checks before it writes: before, HSET ran and then ZADD failed on NaN, so the window was
    in ``entries`` but never in ``timeline``, and a retry saw the entry and skipped it."""
    sid = new_stream_id("span")
    with pytest.raises(redis.ResponseError, match="invalid time span"):
        store.write_results([replace(result(sid, 0), start=start, end=end)])
    k = StreamKeys(sid)
    assert client.hlen(k.entries) == 0 and client.zcard(k.timeline) == 0 and not client.exists(k.meta)
    assert not client.sismember(keys.STREAMS, sid)
