"""The Kafka adapter against a real broker: topic creation, multi-MB records, headers, manual commits."""
from __future__ import annotations

import uuid

from kafka import KafkaAdminClient, TopicPartition
from kafka.structs import OffsetAndMetadata

from core import topics
from core.transport import kafka as kt


def test_ensure_topics_is_idempotent_and_sizes_the_topics(kafka_broker):
    kt.ensure_topics(kafka_broker.bootstrap)
    assert kt.ensure_topics(kafka_broker.bootstrap) == []  # a second service starting: nothing to do
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        described = {t.get("topic", t.get("name")): t for t in admin.describe_topics(list(topics.ALL))}
    finally:
        admin.close()
    assert set(described) == set(topics.ALL)
    assert all(len(t["partitions"]) == topics.DEFAULT_PARTITIONS for t in described.values())


def test_a_large_record_with_headers_round_trips_and_commits_are_manual(kafka_broker):
    topic = f"test-transport-{uuid.uuid4().hex[:8]}"
    kt.ensure_topics(kafka_broker.bootstrap, [topic], partitions=1)
    big = bytes(range(256)) * (6 * 4096)  # 6 MiB: more than Kafka's 1 MiB defaults allow
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="test")
    producer.send(topic, key=kt.stream_key("cam1"), value=big,
                  headers=kt.dlq_headers(reason="why", stage="decode", source_topic="t", partition=0,
                                         offset=1)).get(timeout=30)
    producer.send(topic, key=kt.stream_key("cam1"), value=b"second").get(timeout=30)
    producer.close()

    def read_one(group):
        consumer = kt.make_consumer(kafka_broker.bootstrap, group_id=group, client_id="test", subscribe=[topic],
                                    max_poll_records=1)
        try:
            for _ in range(60):
                for records in consumer.poll(timeout_ms=500).values():
                    return consumer, records[0]
        except BaseException:
            consumer.close()
            raise
        raise AssertionError("nothing consumed")

    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer, record = read_one(group)
    consumer.close()  # no commit: the group starts again from the first record
    assert record.value == big and record.key == b"cam1"
    assert kt.header(record.headers, topics.DLQ_REASON) == "why"
    consumer, again = read_one(group)
    assert again.offset == record.offset == 0
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(1, "", -1)})
    consumer.close()
    consumer, after = read_one(group)
    consumer.close()
    assert after.value == b"second"
