"""``ResultsConsumer`` in-process against a real Kafka and a real Redis: a bug on one record is retried a
bounded number of times, then that record goes to the DLQ as ``internal`` and the stream goes on; hostile
records are stored or dead-lettered with the reason that names them."""
from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

from core import topics
from core.errors import UndecodableRecord
from core.transport import kafka as kt
from core.transport.kafka_delivery import Delivery
from core.transport.kafka_group import GroupConsumer
from services.summarizer.consumer import ResultsConsumer
from services.summarizer.keys import StreamKeys
from services.summarizer.store import SummaryStore
from tests.services.summarizer.helpers import new_stream_id, result
from tests.support.cluster import read_topic, wait_until


class BuggyStore(SummaryStore):
    """The real store, with a bug injected: writing a batch that holds window ``bad`` raises."""

    def __init__(self, client, bad: str) -> None:
        super().__init__(client)
        self.bad, self.failed_writes = bad, 0

    def write_results(self, results):
        if any(r.window_id == self.bad for r in results):
            self.failed_writes += 1
            raise KeyError(f"injected bug on {self.bad}")
        return super().write_results(results)


@contextlib.contextmanager
def consuming(bootstrap: str, store: SummaryStore, **options) -> Iterator[tuple[ResultsConsumer, threading.Thread]]:
    """A ``ResultsConsumer`` on its own thread, in a fresh group that has joined (its partitions assigned at
    the end of the topic) before the test publishes anything; stopped and closed at the end."""
    consumer = GroupConsumer.open(bootstrap, group_id=f"consumer-test-{uuid.uuid4().hex[:8]}",
                                  client_id="test-consumer", topics=[topics.RESULTS], auto_offset_reset="latest")
    loop = ResultsConsumer(consumer, store, dlq=Delivery(bootstrap, client_id="test-dlq"), **options)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    try:
        wait_until("the consumer's assignment", lambda: consumer.poll(timeout_ms=200, max_records=1) == [] and
                   consumer.assignment(), 60)
        thread.start()
        yield loop, thread
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(30)
        consumer.close()


def test_a_bug_on_one_record_dead_letters_it_as_internal_and_the_stream_goes_on(kafka_broker, redis_server):
    kt.ensure_topics(kafka_broker.bootstrap)
    sid = new_stream_id("buggy")
    results = [result(sid, i) for i in range(6)]
    bad = results[2].window_id
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="test-consumer")
    client = redis_server.client()
    store = BuggyStore(client, bad)
    try:
        with consuming(kafka_broker.bootstrap, store, internal_retries=2) as (loop, _):
            for r in results:
                producer.send(topics.RESULTS, key=kt.stream_key(sid), value=kt.encode_result(r))
            producer.flush(30)
            keys = StreamKeys(sid)
            wait_until("the five good windows", lambda: client.hlen(keys.entries) == 5, 60)
            dead = wait_until("the bad window in the DLQ", lambda: read_topic(kafka_broker.bootstrap, topics.DLQ,
                                                                              key=sid), 60)
            assert [kt.decode_result(d.value).window_id for d in dead] == [bad]
            assert kt.header(dead[0].headers, topics.DLQ_REASON) == f"internal: KeyError: 'injected bug on {bad}'"
            assert kt.header(dead[0].headers, topics.DLQ_STAGE) == "summarizer"
            # the whole batch three times (1 + 2 retries), then the bad record alone three times
            assert store.failed_writes >= 6 and loop.stats.dead_lettered == 1
            assert sorted(m.decode() for m in client.zrange(keys.timeline, 0, -1)) == \
                sorted(r.window_id for r in results if r.window_id != bad)
            # ... and later records still flow
            late = result(sid, 6)
            producer.send(topics.RESULTS, key=kt.stream_key(sid), value=kt.encode_result(late)).get(30)
            wait_until("a later window", lambda: client.hexists(keys.entries, late.window_id), 60)
    finally:
        producer.close()
        client.close()


def test_fuzzed_result_records_are_stored_or_dead_lettered_with_a_reason(kafka_broker, redis_server):
    """200 hostile records on vila.results.v1 (noise, damaged results, results with absurd fields): each is
    stored or in the DLQ with a reason that names the problem (never ``internal``), and the stream goes on.
    Each record is keyed by its index, which a dead letter keeps."""
    from hypothesis import strategies as st

    from tests.fuzz.strategies import absurd_result_pb, drawn, noise

    kt.ensure_topics(kafka_broker.bootstrap)
    sid = new_stream_id("fuzz")
    records = drawn(st.one_of(noise(kt.encode_result(result(sid, 0))),
                              absurd_result_pb().map(lambda m: m.SerializeToString())))
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}-"
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="test-consumer-fuzz")
    client = redis_server.client()

    def stored(raw: bytes) -> bool:
        try:
            r = kt.decode_result(raw)
        except UndecodableRecord:  # it must be a dead letter
            return False
        return bool(client.hexists(StreamKeys(r.stream_id).entries, r.window_id))

    def accounted() -> dict[str, str] | None:
        letters = {r.key.decode(): kt.header(r.headers, topics.DLQ_REASON)
                   for r in read_topic(kafka_broker.bootstrap, topics.DLQ)
                   if r.key and r.key.startswith(prefix.encode())}
        missing = [i for i, raw in enumerate(records) if f"{prefix}{i}" not in letters and not stored(raw)]
        return None if missing else letters

    try:
        with consuming(kafka_broker.bootstrap, SummaryStore(client)) as (_, thread):
            for i, raw in enumerate(records):
                producer.send(topics.RESULTS, key=f"{prefix}{i}".encode(), value=raw)
            producer.flush(30)
            letters = wait_until("every record stored or dead-lettered", accounted, 120)
            classes = Counter()
            for i in range(len(records)):
                reason = letters.get(f"{prefix}{i}")
                assert reason is None or not reason.startswith("internal"), reason
                classes["stored" if reason is None else reason.split(":")[0]] += 1
            print(f"fuzz vila.results.v1 through the summarizer: {len(records)} inputs, {dict(classes)}")
            assert classes["stored"] and len(classes) > 2 and thread.is_alive()
    finally:
        producer.close()
        client.close()
