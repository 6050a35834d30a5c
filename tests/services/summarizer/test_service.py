"""The summarizer process against a real Kafka and a real Redis: consume, serve, stop, crash and recover."""
from __future__ import annotations

import threading
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka import KafkaConsumer

from services.aggregation import StreamAggregator
from services.cluster import RedisServer, free_port
from core import topics
from core.types import StreamEvent, StreamState
from services.summarizer.client import SummariesClient
from services.summarizer.keys import StreamKeys
from core.transport.kafka import encode_event, encode_result, ensure_topics, header, make_producer, stream_key
from tests.services.summarizer.helpers import new_stream_id, result
from tests.services.summarizer.service import SummarizerProcess
from tests.support.cluster import group_lag
from tests.support.wait import wait_until


@pytest.fixture
def redis_client(redis_server):
    c = redis_server.client()
    yield c
    c.close()


@pytest.fixture
def producer(kafka_broker):
    ensure_topics(kafka_broker.bootstrap)
    p = make_producer(kafka_broker.bootstrap, client_id="test-results")
    yield p
    p.close()


@pytest.fixture
def summarizer(tmp_path, kafka_broker, redis_server):
    """``summarizer()`` starts one (same consumer group for every call in a test)."""
    group = f"summarizer-test-{uuid.uuid4().hex[:8]}"
    started: list[SummarizerProcess] = []

    def start(*extra: str) -> SummarizerProcess:
        proc = SummarizerProcess(tmp_path, bootstrap=kafka_broker.bootstrap, redis_url=redis_server.url,
                                 group_id=group, extra=extra)
        started.append(proc)
        return proc.start(60)

    yield start
    for proc in started:
        proc.kill()


def publish(producer, results=(), events=(), raw=()):
    for r in results:
        producer.send(topics.RESULTS, key=stream_key(r.stream_id), value=encode_result(r))
    for e in events:
        producer.send(topics.EVENTS, key=stream_key(e.stream_id), value=encode_event(e))
    for key, value in raw:
        producer.send(topics.RESULTS, key=stream_key(key), value=value)
    producer.flush(30)


def test_consumes_results_and_events_serves_them_and_stops_on_sigterm(summarizer, producer, redis_client,
                                                                       kafka_broker):
    sid = new_stream_id()
    proc = summarizer()
    with grpc.insecure_channel(proc.target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="vila.v1.Summaries"))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
    results = [result(sid, i) for i in range(12)]
    publish(producer, results=results + results[3:6],  # with redeliveries
            events=[StreamEvent(sid, StreamState.LIVE, 100.0, extra={"source": "clip.mp4"})],
            raw=[(sid, b"\x08\x96\x01 definitely not a WindowResult")])
    k = StreamKeys(sid)
    # results and events arrive on two topics, in no fixed order between them: wait for both
    wait_until("12 entries and the event in Redis", lambda: redis_client.hlen(k.entries) == 12
               and redis_client.exists(k.summary) and redis_client.zcard(k.events) == 1, 60, every_s=0.1,
               detail=proc.log_tail)
    assert redis_client.zrange(k.timeline, 0, -1) == [r.window_id.encode() for r in results]
    with SummariesClient(proc.target) as client:
        [info] = [s for s in client.list_streams() if s.stream_id == sid]
        assert (info.windows, info.state, info.source) == (12, StreamState.LIVE, "clip.mp4")
        entries, segments = client.timeline(sid, segments=True)
        expected = StreamAggregator(sid)
        for r in results:
            expected.add(r)
        assert entries == expected.timeline() and segments == expected.segments()
        wait_until("the summary", lambda: client.summary(sid).windows == 12, 30, every_s=0.1)
        assert client.summary(sid) == expected.summary()
    # the poison record is in the DLQ with its reason, and the stream went on
    dlq = KafkaConsumer(topics.DLQ, bootstrap_servers=kafka_broker.bootstrap, auto_offset_reset="earliest",
                        consumer_timeout_ms=5000, group_id=None)
    mine = [r for r in dlq if r.key == stream_key(sid)]
    dlq.close()
    assert len(mine) == 1
    assert header(mine[0].headers, topics.DLQ_STAGE) == "summarizer"
    assert header(mine[0].headers, topics.DLQ_SOURCE_TOPIC) == topics.RESULTS
    assert "WindowResult" in header(mine[0].headers, topics.DLQ_REASON)
    assert proc.terminate() == 0


def test_sigkill_mid_stream_and_restart_loses_and_duplicates_nothing(summarizer, producer, redis_client, kafka_broker):
    """The summarizer is SIGKILLed mid-stream (results waiting in Kafka, a batch in hand), more results arrive
    while a second one starts in the same group: every window is in Redis exactly once (by window id), and
    the derived state matches."""
    sid = new_stream_id("fault")
    total = 400
    results = [result(sid, i, error="worker timeout" if i % 37 == 5 else "") for i in range(total)]
    k = StreamKeys(sid)
    first = summarizer("--max-poll-records", "7")
    half = results[:total // 2]
    publish(producer, results=half + half[:40:2])  # some redeliveries too
    wait_until("the first 60 entries", lambda: redis_client.hlen(k.entries) >= 60, 60, every_s=0.05,
               detail=first.log_tail)
    first.kill()  # SIGKILL: no commit of the batch in hand, no clean leave of the group; half the stream to come
    rest = results[total // 2:]
    feeder = threading.Thread(target=publish, args=(producer,), kwargs={"results": rest + rest[:40:2]})
    feeder.start()  # arrives while the second summarizer starts and takes the group over
    second = summarizer("--max-poll-records", "7")
    feeder.join(60)
    wait_until(f"{total} entries", lambda: redis_client.hlen(k.entries) == total, 120, every_s=0.1,
               detail=second.log_tail)
    # Once the group has committed every result, nothing can be replayed late: the state below is final.
    wait_until("the group to commit every result", lambda: group_lag(kafka_broker.bootstrap, second.group_id,
                                                                      topics.RESULTS) == 0, 60)

    ids = [m.decode() for m in redis_client.zrange(k.timeline, 0, -1)]
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {r.window_id for r in results}
    assert redis_client.hlen(k.entries) == total
    assert redis_client.zcard(k.failed) == sum(1 for r in results if r.error)
    expected = StreamAggregator(sid)
    for r in results:
        expected.add(r)
    with SummariesClient(second.target) as client:
        entries, segments = client.timeline(sid, segments=True)
        assert entries == expected.timeline()
        assert segments == expected.segments()
        wait_until("the summary", lambda: client.summary(sid).windows == total, 30, every_s=0.1)
        assert client.summary(sid) == expected.summary()
    assert second.terminate() == 0


def test_redis_outage_commits_nothing_until_redis_is_back(tmp_path, kafka_broker, producer):
    """Redis stops while results arrive: the consumer retries the batch, commits nothing, and once
    Redis is back every window is stored (a commit before the write would have lost them)."""
    redis_own = RedisServer(tmp_path / "redis", port=free_port(), persist=True, die_with_parent=True).start(30)
    proc = SummarizerProcess(tmp_path, bootstrap=kafka_broker.bootstrap, redis_url=redis_own.url,
                             group_id=f"summarizer-test-{uuid.uuid4().hex[:8]}").start(60)
    client = redis_own.client()
    try:
        sid = new_stream_id("outage")
        k = StreamKeys(sid)
        results = [result(sid, i) for i in range(20)]
        publish(producer, results=results[:10])
        wait_until("the first 10 entries", lambda: client.hlen(k.entries) == 10, 60, every_s=0.1,
                   detail=proc.log_tail)
        redis_own.stop()  # a clean shutdown: the append-only file keeps what was acknowledged
        publish(producer, results=results[10:])
        wait_until("a failed write", lambda: "Redis write failed" in proc.log_tail(200), 60, every_s=0.1,
                   detail=proc.log_tail)
        redis_own.start(30)
        wait_until("all 20 entries", lambda: client.hlen(k.entries) == 20, 60, every_s=0.1, detail=proc.log_tail)
        assert [m.decode() for m in client.zrange(k.timeline, 0, -1)] == [r.window_id for r in results]
        # the summary is refreshed just after the entries, by the same write
        wait_until("the summary of all 20", lambda: int(client.hget(k.summary, "windows") or 0) == 20, 30,
                   every_s=0.1, detail=proc.log_tail)
        assert proc.terminate() == 0
    finally:
        proc.kill()
        client.close()
        redis_own.stop()
