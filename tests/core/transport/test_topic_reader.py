"""read_topic (core/transport/topic_reader.py) against a real broker: a whole topic, by key, no group."""
from __future__ import annotations

import uuid

from kafka import KafkaAdminClient

from core.transport import kafka as kt
from core.transport.topic_reader import read_topic


def test_reads_every_partition_to_its_end_filters_by_key_and_commits_nothing(kafka_broker):
    topic = f"test-reader-{uuid.uuid4().hex[:8]}"
    kt.ensure_topics(kafka_broker.bootstrap, [topic], partitions=3)
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="test")
    for i in range(12):
        producer.send(topic, key=kt.stream_key(f"cam{i % 3}"), value=f"{i}".encode())
    producer.flush(timeout=30)
    producer.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    groups = sorted(map(str, admin.list_groups()))

    everything = read_topic(kafka_broker.bootstrap, topic)
    assert sorted(int(r.value) for r in everything) == list(range(12))
    assert len({r.partition for r in everything}) > 1  # three keys over three partitions
    cam1 = read_topic(kafka_broker.bootstrap, topic, key="cam1")
    assert [int(r.value) for r in cam1] == [1, 4, 7, 10]  # one key lives in one partition: offset order
    assert read_topic(kafka_broker.bootstrap, topic, key="nobody") == []
    try:
        assert sorted(map(str, admin.list_groups())) == groups  # no group was joined, so no offset committed
    finally:
        admin.close()
