"""Delivery (core/transport/kafka_delivery.py) against a real broker: a record held through an outage several
times longer than the producer's own delivery timeout arrives once Kafka is back; a stop ends the wait; a
record Kafka can never take is refused at once."""
from __future__ import annotations

import threading
import uuid

import pytest

from core.errors import RecordRefused
from core.transport import kafka as kt
from core.transport.kafka_delivery import Delivery
from core.transport.topic_reader import read_topic
from tests.support.wait import wait_until

SEND_TIMEOUT_S = 2.0  # the producer gives a record up after this; Delivery must not


def test_a_record_outlives_an_outage_longer_than_the_send_timeout(own_kafka_broker):
    broker = own_kafka_broker
    topic = f"test-delivery-{uuid.uuid4().hex[:8]}"
    kt.ensure_topics(broker.bootstrap, [topic], partitions=1)
    delivery = Delivery(broker.bootstrap, client_id="test", send_timeout_s=SEND_TIMEOUT_S)
    try:
        assert delivery.deliver(topic, value=b"before")
        broker.stop()
        outcome: list[bool] = []
        sender = threading.Thread(target=lambda: outcome.append(delivery.deliver(topic, value=b"during")))
        sender.start()
        try:
            # three failed tries: the producer expired the record (or could not even send it) three times
            wait_until("three failed tries while Kafka is down", lambda: delivery.failures >= 3, 120)
            assert outcome == []  # still held
        finally:
            broker.start(120)
        sender.join(120)
        assert outcome == [True]
        assert delivery.outages == 1
        assert delivery.deliver(topic, value=b"after")  # the renewed producer goes on
    finally:
        delivery.close()
    values = [r.value for r in read_topic(broker.bootstrap, topic)]
    assert values[0] == b"before" and values[-1] == b"after" and b"during" in values


def test_a_stop_ends_the_wait_for_a_kafka_that_is_away(own_kafka_broker):
    broker = own_kafka_broker
    delivery = Delivery(broker.bootstrap, client_id="test", send_timeout_s=SEND_TIMEOUT_S)
    stop, outcome = threading.Event(), []
    broker.stop()
    try:
        sender = threading.Thread(target=lambda: outcome.append(
            delivery.deliver(f"test-stop-{uuid.uuid4().hex[:8]}", value=b"x", stop=stop)))
        sender.start()
        wait_until("a failed try", lambda: delivery.failures >= 1, 60)
        stop.set()
        sender.join(30)
        assert not sender.is_alive() and outcome == [False]
    finally:
        broker.start(120)
        delivery.close(timeout=1)


def test_a_record_larger_than_kafka_takes_is_refused_not_retried(kafka_broker):
    topic = f"test-refused-{uuid.uuid4().hex[:8]}"
    kt.ensure_topics(kafka_broker.bootstrap, [topic], partitions=1)
    delivery = Delivery(kafka_broker.bootstrap, client_id="test")
    try:
        with pytest.raises(RecordRefused, match=f"Kafka refused a record for {topic}: "):
            delivery.deliver(topic, value=b"\0" * (kt.MAX_RECORD_BYTES + 1))
        assert delivery.failures == 0
    finally:
        delivery.close()
