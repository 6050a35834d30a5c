"""The local Kafka broker: real JVM broker, real kafka-python clients, large records, restart with data kept."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from services.cluster import KAFKA_VERSION, KafkaBroker, free_port
from services.cluster.kafka_broker import find_kafka_libs
from core.errors import ClusterError, MissingDependency

ROOT = Path(__file__).resolve().parents[3]
BIG = 5 * 1024 * 1024


def _topic(broker: KafkaBroker, partitions: int = 1) -> str:
    name = f"test-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()
    return name


def _produce(broker: KafkaBroker, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=16 * 1024 * 1024, acks="all")
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def _consume(broker: KafkaBroker, topic: str, count: int, group: str) -> list[tuple[bytes, bytes]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             max_partition_fetch_bytes=32 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
                             consumer_timeout_ms=30_000)
    try:
        got = []
        for message in consumer:
            got.append((message.key, message.value))
            if len(got) == count:
                break
        return got
    finally:
        consumer.close()


def test_five_mib_record_round_trips(kafka_broker):
    topic = _topic(kafka_broker)
    value = bytes(range(256)) * (BIG // 256)
    _produce(kafka_broker, topic, [(b"cam1", value)])
    assert _consume(kafka_broker, topic, 1, group=f"g-{topic}") == [(b"cam1", value)]


def test_restart_keeps_records_and_port(kafka_broker):
    topic = _topic(kafka_broker)
    _produce(kafka_broker, topic, [(b"k", b"before restart")])
    old_pid = kafka_broker.pid
    kafka_broker.restart(timeout=120)
    assert kafka_broker.pid != old_pid
    _produce(kafka_broker, topic, [(b"k", b"after restart")])
    got = _consume(kafka_broker, topic, 2, group=f"g-{topic}")
    assert [value for _, value in got] == [b"before restart", b"after restart"]


def test_auto_topic_creation_is_off(kafka_broker):
    """Services create their topics on purpose (ensure_topics); a misspelt topic must not appear silently."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        admin.list_topics()
        consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap)
        try:
            assert consumer.partitions_for_topic("no-such-topic-xyz") in (None, set())
        finally:
            consumer.close()
        assert "no-such-topic-xyz" not in admin.list_topics()
    finally:
        admin.close()


def test_busy_port_is_a_clear_error(kafka_broker, tmp_path):
    other = KafkaBroker(tmp_path, port=kafka_broker.port, controller_port=free_port())
    with pytest.raises(ClusterError, match=rf"port 127\.0\.0\.1:{kafka_broker.port} is already in use"):
        other.start(timeout=30)
    assert not other.running()


def test_missing_jars_say_run_make_install(tmp_path):
    with pytest.raises(MissingDependency, match="run make install"):
        find_kafka_libs(KAFKA_VERSION, home=tmp_path)


def test_version_matches_the_pom():
    pom = (ROOT / "services" / "cluster" / "pom.xml").read_text()
    assert re.search(r"<kafka.version>(.+?)</kafka.version>", pom).group(1) == KAFKA_VERSION


def test_missing_java_says_what_to_install(monkeypatch, tmp_path):
    from services.cluster.kafka_broker import find_java

    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without java
    with pytest.raises(MissingDependency, match=r"java not found: Kafka .* needs Java 17\+ \(run make install"):
        find_java()


def test_old_java_is_refused(monkeypatch, tmp_path):
    from services.cluster.kafka_broker import find_java

    fake = tmp_path / "java"  # a java that reports version 11, as an old JDK does
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependency, match=r"needs Java 17\+, .* is: openjdk version \"11.0.2\""):
        find_java()


def test_cluster_id_never_starts_with_a_dash(monkeypatch):
    # kafka-storage reads "-t -xyz..." as an option and refuses to format: CI failed once on such an id
    from services.cluster import kafka_broker
    dash_first = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))
    plain = uuid.UUID(bytes=bytes([0x10]) + bytes(15))
    draws = iter([dash_first, dash_first, plain])
    monkeypatch.setattr(kafka_broker.uuid, "uuid4", lambda: next(draws))
    assert kafka_broker.base64.urlsafe_b64encode(dash_first.bytes).decode().startswith("-")
    cluster_id = kafka_broker.new_cluster_id()
    assert cluster_id == kafka_broker.base64.urlsafe_b64encode(plain.bytes).rstrip(b"=").decode()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id)
