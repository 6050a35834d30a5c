"""GroupConsumer (core/transport/kafka_group.py) against a real broker: a member keeps running, and commits
what its revoke callback names, when a second member joins the group (a dispatcher scaled out under load)."""
from __future__ import annotations

import threading
import uuid

from kafka import KafkaConsumer, TopicPartition

from core.transport import kafka as kt
from core.transport.kafka_group import GroupConsumer, Partition
from tests.support.wait import wait_until

PARTITIONS = 2


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        consumer.close()


def test_a_member_commits_on_revoke_and_keeps_polling_when_a_second_member_joins(kafka_broker):
    bootstrap = kafka_broker.bootstrap
    topic, group = f"test-group-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
    kt.ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
    producer = kt.make_producer(bootstrap, client_id="test")
    for i in range(8):
        producer.send(topic, value=f"{i}".encode(), partition=i % PARTITIONS)
    producer.flush(timeout=30)
    producer.close()

    revoked: list[set[Partition]] = []
    seen: dict[Partition, int] = {}  # the next offset to read, per partition: what "finished" would commit

    def on_revoked(partitions: set[Partition]) -> dict[Partition, int]:
        revoked.append(set(partitions))
        return {p: seen[p] for p in partitions if p in seen}

    first = GroupConsumer.open(bootstrap, group_id=group, client_id="first", topics=[topic],
                               on_revoked=on_revoked, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    second = None
    stop = threading.Event()
    try:
        def poll_first():
            for r in first.poll(timeout_ms=200, max_records=100):
                seen[r.partition] = max(seen.get(r.partition, 0), r.offset + 1)
            return sum(seen.values()) == 8

        wait_until("the first member reading all 8 records", poll_first, 60)
        assert first.assignment() == {Partition(topic, p) for p in range(PARTITIONS)}

        second = GroupConsumer.open(bootstrap, group_id=group, client_id="second", topics=[topic],
                                    session_timeout_ms=6000, heartbeat_interval_ms=1000)
        # The second member joins while its own poll runs; the first rebalances inside its poll.
        joiner = threading.Thread(target=lambda: [second.poll(timeout_ms=200, max_records=1)
                                                  for _ in iter(stop.is_set, True)], daemon=True)
        joiner.start()

        def rebalanced():
            first.poll(timeout_ms=200, max_records=100)  # raised "User rebalance callback throws an error"
            return any(revoked) and len(first.assignment()) == 1 and first.assignment()
        wait_until("the group split between two members", rebalanced, 90)

        # (the first join revokes nothing) eager: everything is revoked, then the group reassigns
        assert [r for r in revoked if r] == [{Partition(topic, p) for p in range(PARTITIONS)}]
        # what the callback named was committed before the partitions moved, so the new owner starts there
        assert committed(bootstrap, group, topic) == {p: seen[Partition(topic, p)] for p in range(PARTITIONS)}
    finally:
        stop.set()
        first.close()
        if second is not None:
            joiner.join(10)
            second.close()
