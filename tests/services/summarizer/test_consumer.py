"""``ResultsConsumer`` in-process against a real Kafka and a real Redis: a bug on one record is retried a
bounded number of times, then that record goes to the DLQ as ``internal`` and the stream goes on."""
from __future__ import annotations

import threading
import uuid

from core import topics
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


def test_a_bug_on_one_record_dead_letters_it_as_internal_and_the_stream_goes_on(kafka_broker, redis_server):
    kt.ensure_topics(kafka_broker.bootstrap)
    sid = new_stream_id("buggy")
    results = [result(sid, i) for i in range(6)]
    bad = results[2].window_id
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="test-consumer")
    client = redis_server.client()
    group = f"consumer-test-{uuid.uuid4().hex[:8]}"
    consumer = GroupConsumer.open(kafka_broker.bootstrap, group_id=group, client_id="test-consumer",
                                  topics=[topics.RESULTS], auto_offset_reset="latest")
    store = BuggyStore(client, bad)
    loop = ResultsConsumer(consumer, store, dlq=Delivery(kafka_broker.bootstrap, client_id="test-dlq"),
                           internal_retries=2)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    try:
        # Join the group (partitions assigned at the end of the topic) before anything is published.
        wait_until("the consumer's assignment", lambda: consumer.poll(timeout_ms=200, max_records=1) == [] and
                   consumer.assignment(), 60)
        thread.start()
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
        stop.set()
        if thread.is_alive():
            thread.join(30)
        consumer.close()
        producer.close()
        client.close()
