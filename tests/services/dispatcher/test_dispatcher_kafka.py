"""``python -m services.dispatcher`` against a real Kafka broker and real gRPC workers (edge and cloud).

Windows are produced straight to vila.windows.v1 (so their activity scores are chosen by the test), and
the results / DLQ topics are read back: per-stream routing, edge -> cloud escalation publishing one result
per window, INVALID_ARGUMENT from a worker going to the DLQ at once, and every offset committed at the end.
"""
from __future__ import annotations

import io
import threading
import uuid
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from PIL import Image

from core import topics
from core.labels import DEFAULT_ACTION_LABELS
from core.ids import window_id
from core.types import Frame, FrameWindow
from core.transport import kafka as kt
from tests.support.cluster import Service, group_lag, read_topic
from tests.support.wait import wait_until

START_TIMEOUT_S = 180.0


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 100, 200)).save(out, format="JPEG")
    return out.getvalue()


def window(stream_id: str, seq: int, activity: float, frame: bytes | None = None) -> FrameWindow:
    frames = tuple(Frame(frame or jpeg(20 * i + seq), pts=seq + i / 2, width=64, height=48) for i in range(2))
    return FrameWindow(stream_id=stream_id, window_id=window_id(stream_id, float(seq)), seq=seq, start=float(seq),
                       end=seq + 1.0, frames=frames, activity=activity)


def uncommitted(bootstrap: str, group: str) -> str:
    """Per partition of vila.windows.v1: the group's committed offset, the end, and the keys in between."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topics.WINDOWS, p) for p in consumer.partitions_for_topic(topics.WINDOWS)]
        ends = consumer.end_offsets(partitions)
        committed = {tp: consumer.committed(tp) for tp in partitions}
    finally:
        consumer.close()
    records = read_topic(bootstrap, topics.WINDOWS)
    return "; ".join(
        f"p{tp.partition} committed {committed[tp]} end {ends[tp]} keys "
        f"{sorted({r.key.decode() for r in records if r.partition == tp.partition and r.offset >= (committed[tp] or 0)})}"
        for tp in partitions)


def start_group_at_the_end(bootstrap: str, group: str) -> None:
    """Commit ``group``'s offsets at the topic's current end, so the dispatcher only sees this test's records."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topics.WINDOWS, p) for p in consumer.partitions_for_topic(topics.WINDOWS)]
        consumer.assign(partitions)
        consumer.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in consumer.end_offsets(partitions).items()})
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def workers(kafka_broker, tmp_path_factory):
    from services.cluster import free_port

    run_dir = tmp_path_factory.mktemp("dispatcher-workers")
    started = []
    try:
        for tier in ("edge", "cloud"):
            port = free_port()
            service = Service(f"worker-{tier}", run_dir, "workers",
                              ["--port", str(port), "--tier", tier, "--device", "cpu", "--dtype", "float32"],
                              endpoint=f"127.0.0.1:{port}")
            service.spawn()
            started.append(service)
        for service in started:
            service.wait_ready(START_TIMEOUT_S)
        yield {s.name.split("-")[1]: s.endpoint for s in started}
    finally:
        for service in started:
            service.stop()


def test_routing_escalation_and_invalid_windows(kafka_broker, workers, tmp_path):
    kt.ensure_topics(kafka_broker.bootstrap)
    group = f"dispatcher-test-{uuid.uuid4().hex[:6]}"
    edge, cloud, bad = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("edge", "cloudy", "bad"))
    start_group_at_the_end(kafka_broker.bootstrap, group)
    dispatcher = Service("dispatcher", tmp_path, "services.dispatcher",
                         ["--kafka-bootstrap", kafka_broker.bootstrap, "--group-id", group,
                          "--edge-workers", workers["edge"], "--cloud-workers", workers["cloud"],
                          "--stream-tiers", f"{cloud}=cloud", "--escalate", "activity>=0.5",
                          "--session-timeout-ms", "6000"])
    dispatcher.start(120)
    try:
        producer = kt.make_producer(kafka_broker.bootstrap, client_id="dispatcher-test")
        records = [window(edge, 0, 0.1), window(edge, 1, 0.9), window(edge, 2, 0.2),
                   window(cloud, 0, 0.1), window(bad, 0, 0.1, frame=b"\xff\xd8 not really a jpeg")]
        for w in records:
            producer.send(topics.WINDOWS, key=kt.stream_key(w.stream_id), value=kt.encode_window(w)).get(30)
        producer.close()

        def results(stream_id):  # this dispatcher's (another group, e.g. the e2e cluster's, may run too)
            return [kt.decode_result(r.value) for r in read_topic(kafka_broker.bootstrap, topics.RESULTS,
                                                                  key=stream_id)
                    if kt.header(r.headers, topics.RESULT_GROUP) == group]

        got = wait_until("results of the edge stream", lambda: len(results(edge)) >= 3 and results(edge), 120)
        assert sorted((r.seq, r.tier) for r in got) == [(0, "edge"), (1, "cloud"), (2, "edge")]  # one each
        # the default labels, all scored
        assert all(sorted(a.label for a in r.actions) == sorted(DEFAULT_ACTION_LABELS) and r.caption for r in got)
        escalated = [r for r in read_topic(kafka_broker.bootstrap, topics.RESULTS, key=edge)
                     if kt.header(r.headers, topics.RESULT_ESCALATED)]
        assert [kt.header(r.headers, topics.RESULT_ESCALATED) for r in escalated] == ["activity 0.90 >= 0.5"]
        assert [(r.seq, r.tier) for r in wait_until("the cloud stream", lambda: results(cloud), 60)] == [(0, "cloud")]

        dead = wait_until("the bad window in the DLQ",
                          lambda: read_topic(kafka_broker.bootstrap, topics.DLQ, key=bad), 60)
        reason = kt.header(dead[0].headers, topics.DLQ_REASON)
        # the worker's own words, as local mode keeps them on the window
        assert reason.startswith("invalid-request: frame 0 is not a decodable JPEG (worker 127.0.0.1:"), reason
        assert reason.endswith(", 1 attempt)") and kt.header(dead[0].headers, topics.DLQ_STAGE) == "infer"
        assert kt.decode_window(dead[0].value) == records[-1]  # the original record, untouched
        assert results(bad) == []
        wait_until("every offset committed",
                   lambda: group_lag(kafka_broker.bootstrap, group, topics.WINDOWS) == 0, 60)
    finally:
        dispatcher.stop()
    assert "dispatcher: stats results=4 escalated=1 dlq=1" in dispatcher.log_path.read_text()


def test_a_second_dispatcher_joining_under_load_crashes_neither(kafka_broker, workers, tmp_path):
    """Scaling out rebalances the group while the first member has finished windows not yet committed: its
    revoke callback commits them (it used to raise "Cannot block on net.run() from the IO thread" and exit)."""
    kt.ensure_topics(kafka_broker.bootstrap)
    group = f"dispatcher-scale-{uuid.uuid4().hex[:6]}"
    streams = [f"scale{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]  # spread over the 4 partitions
    start_group_at_the_end(kafka_broker.bootstrap, group)

    def dispatcher(name: str) -> Service:
        return Service(name, tmp_path, "services.dispatcher",
                       ["--kafka-bootstrap", kafka_broker.bootstrap, "--group-id", group,
                        "--edge-workers", workers["edge"], "--cloud-workers", workers["cloud"],
                        "--session-timeout-ms", "6000"])

    def results():
        return [kt.decode_result(r.value) for r in read_topic(kafka_broker.bootstrap, topics.RESULTS)
                if kt.header(r.headers, topics.RESULT_GROUP) == group]

    first, second = dispatcher("dispatcher-first"), dispatcher("dispatcher-second")
    first.start(120)
    producer = kt.make_producer(kafka_broker.bootstrap, client_id="dispatcher-scale-test")
    sent: list[FrameWindow] = []
    joined = threading.Event()

    def send() -> None:  # windows keep arriving until the group has rebalanced: the first member is busy
        while not joined.wait(0.05):  # a pace for the load, not a wait for something to happen
            w = window(streams[len(sent) % len(streams)], len(sent) // len(streams), 0.1)
            producer.send(topics.WINDOWS, key=kt.stream_key(w.stream_id), value=kt.encode_window(w))
            sent.append(w)
        producer.flush(30)

    sender = threading.Thread(target=send, daemon=True)
    try:
        sender.start()
        wait_until("the first dispatcher at work", lambda: len(results()) >= 3, 120)
        second.spawn()
        wait_until("the second dispatcher in the group", lambda: second.probe() or not second.running(), 120,
                   every_s=0.2, detail=lambda: second.log_tail(20))
        joined.set()
        sender.join(60)
        want = {w.window_id for w in sent}
        wait_until("a result for every window", lambda: want <= {r.window_id for r in results()}, 180,
                   detail=lambda: first.log_tail(20))
        wait_until("every offset committed",
                   lambda: group_lag(kafka_broker.bootstrap, group, topics.WINDOWS) == 0, 60,
                   detail=lambda: uncommitted(kafka_broker.bootstrap, group))
        assert first.running(), first.log_tail(30)
        assert second.running(), second.log_tail(30)
        assert "rebalance callback" not in first.log_path.read_text()
    finally:
        producer.close()
        second.stop()
        first.stop()


def test_fuzzed_records_each_end_in_a_result_or_the_dlq(kafka_broker, workers, tmp_path):
    """200 hostile records on vila.windows.v1 (noise, damaged windows, windows with absurd fields): each ends
    as a result or in the DLQ with a reason that names the problem (never ``internal``), and the dispatcher
    goes on. Each record is keyed by its index, which a dead letter keeps."""
    from hypothesis import strategies as st

    from tests.fuzz.strategies import absurd_window_pb, drawn, noise

    kt.ensure_topics(kafka_broker.bootstrap)
    group = f"dispatcher-fuzz-{uuid.uuid4().hex[:6]}"
    valid = kt.encode_window(window("fuzz", 0, 0.1))
    records = drawn(st.one_of(noise(valid), absurd_window_pb(max_frames=4).map(lambda m: m.SerializeToString())))
    keys = [f"fuzz-{group}-{i}" for i in range(len(records))]
    start_group_at_the_end(kafka_broker.bootstrap, group)
    dispatcher = Service("dispatcher", tmp_path, "services.dispatcher",
                         ["--kafka-bootstrap", kafka_broker.bootstrap, "--group-id", group,
                          "--edge-workers", workers["edge"], "--cloud-workers", workers["cloud"],
                          "--session-timeout-ms", "6000"])
    dispatcher.start(120)
    try:
        producer = kt.make_producer(kafka_broker.bootstrap, client_id="dispatcher-fuzz")
        for key, raw in zip(keys, records):
            producer.send(topics.WINDOWS, key=key.encode(), value=raw)
        producer.flush(60)
        producer.close()
        wait_until("every offset committed",
                   lambda: group_lag(kafka_broker.bootstrap, group, topics.WINDOWS) == 0, 180,
                   detail=lambda: dispatcher.log_tail(20))
        dead = {r.key.decode(): kt.header(r.headers, topics.DLQ_REASON)
                for r in read_topic(kafka_broker.bootstrap, topics.DLQ) if r.key and r.key.startswith(b"fuzz-")}
        published = {kt.decode_result(r.value).window_id for r in read_topic(kafka_broker.bootstrap, topics.RESULTS)
                     if kt.header(r.headers, topics.RESULT_GROUP) == group}
        classes = Counter()
        for key, raw in zip(keys, records):
            if key in dead:
                assert not dead[key].startswith("internal"), dead[key]
                classes[dead[key].split(":")[0]] += 1
            else:
                assert kt.decode_window(raw).window_id in published, key
                classes["result"] += 1
        print(f"fuzz vila.windows.v1 through the dispatcher: {len(records)} inputs, {dict(classes)}")
        assert classes["result"] and len(classes) > 2
        assert dispatcher.running(), dispatcher.log_tail(30)
    finally:
        dispatcher.stop()
