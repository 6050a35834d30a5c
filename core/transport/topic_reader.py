"""Read a whole Kafka topic as it stands, without a consumer group (benchmarks, tests, inspection).

``read_topic`` assigns every partition, seeks to the beginning and reads up to the end offsets taken
when it starts: records produced meanwhile are not returned, and since there is no group no offset
is ever committed, so it never disturbs the deployables' consumers.
"""
from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from core.transport.kafka import FETCH_MAX_BYTES


def read_topic(bootstrap: str, topic: str, *, key: str | None = None, timeout_s: float = 20.0) -> list[ConsumerRecord]:
    """Every record of ``topic`` (only those keyed ``key`` when given), in offset order within each partition.

    Raises TimeoutError when the end offsets are not reached within ``timeout_s`` seconds; kafka-python's
    errors when the broker at ``bootstrap`` cannot be reached.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             max_partition_fetch_bytes=FETCH_MAX_BYTES, fetch_max_bytes=FETCH_MAX_BYTES)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:  # the topic does not exist (yet): nothing in it
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s} s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
        wanted = None if key is None else key.encode()
        return [r for r in records if wanted is None or r.key == wanted]
    finally:
        consumer.close()
