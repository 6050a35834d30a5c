"""A Kafka outage many times longer than the producers' delivery timeout, mid-ingest, with results in flight.

The cluster of this module runs on its own broker (``own_kafka_broker``), which the test stops and restarts.
Before the broker goes, the worker is paused (SIGSTOP) so that the dispatcher holds windows whose results
it must publish while Kafka is away, and the ingest is paused after its first windows so that the rest
of the file is sent during the outage. Kafka stays down until the ingest and the dispatcher have each
failed several tries (each try lasts the 3 s send timeout; kafka-python's own would have given up after
one). At the end: every service still runs on its first start, the ingest exits 0 having published every
window of the file, and the timeline holds each window exactly once.
"""
from __future__ import annotations

import os
import re
import signal
import uuid

import pytest

from core.transport import kafka as kt
from services.demo.scenes import make_clip
from tests.support.cluster import START_TIMEOUT_S, Cluster
from tests.support.wait import wait_until

SEND_TIMEOUT = ("--send-timeout-s", "3")
WINDOWS = 40
TRIES_WHILE_DOWN = 3


@pytest.fixture(scope="module")
def outage_cluster(own_kafka_broker, redis_server, tmp_path_factory):
    kt.ensure_topics(own_kafka_broker.bootstrap)
    cluster = Cluster(tmp_path_factory.mktemp("outage-cluster"), own_kafka_broker.bootstrap, redis_server.url)
    cluster.dispatcher = cluster.make_dispatcher(*SEND_TIMEOUT)
    try:
        cluster.heal()
        yield cluster
    finally:
        cluster.stop()


def failed_tries(log: str) -> int:
    return max((int(n) for n in re.findall(r"try (\d+) of a record for \S+ failed", log)), default=0)


def test_every_window_survives_a_kafka_outage_mid_ingest(outage_cluster, own_kafka_broker, tmp_path):
    cluster, broker = outage_cluster, own_kafka_broker
    clip = make_clip(tmp_path / "long.mp4", seconds=WINDOWS, fps=4, size=(96, 64))
    stream_id = f"outage-{uuid.uuid4().hex[:6]}"
    starts = {s.name: s.log_path.read_text().count("\n=== ") for s in cluster.services}

    os.kill(cluster.worker.pid, signal.SIGSTOP)  # a window in the dispatcher's hands when Kafka goes
    ingest = cluster.start_ingest("ingest-outage", "--source", str(clip), "--stream-id", stream_id,
                                  "--window-seconds", "1", "--frames-per-window", "2", "--max-side", "96",
                                  "--queue-size", "1", *SEND_TIMEOUT)
    paused = []
    try:
        wait_until("the first windows on Kafka", lambda: cluster.window_ids(stream_id), 60, every_s=0.05)
        os.kill(ingest.pid, signal.SIGSTOP)
        paused.append(ingest)
        assert len(set(cluster.window_ids(stream_id))) < WINDOWS  # mid-file
        broker.stop()
        for service in (cluster.worker, ingest):
            os.kill(service.pid, signal.SIGCONT)
        paused.clear()
        wait_until(f"{TRIES_WHILE_DOWN} failed tries of the ingest and of the dispatcher",
                   lambda: min(failed_tries(ingest.log_since_start()),
                               failed_tries(cluster.dispatcher.log_since_start())) >= TRIES_WHILE_DOWN, 180,
                   detail=lambda: cluster.dispatcher.log_tail(10) + "\n" + ingest.log_tail(10))
    finally:
        for service in paused:
            os.kill(service.pid, signal.SIGCONT)
        broker.start(START_TIMEOUT_S)

    assert ingest.wait_exit(240) == 0, ingest.log_tail(30)
    log = ingest.log_since_start()
    assert f"{stream_id}: state=ended windows={WINDOWS} published={WINDOWS} dropped=0 failed=0\n" in log
    produced = set(cluster.window_ids(stream_id))
    assert len(produced) == WINDOWS  # (a retried record may be on the topic twice; the timeline keeps one)
    entries = cluster.wait_timeline(stream_id, produced, timeout_s=240)
    assert sorted(e.window_id for e in entries) == sorted(produced)
    for service in cluster.services:  # none exited, none was restarted
        assert service.running(), service.log_tail(30)
        assert service.log_path.read_text().count("\n=== ") == starts[service.name], service.name
    assert "takes records again after" in cluster.dispatcher.log_since_start()
