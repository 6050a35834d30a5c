"""Fault tests on real services: each ends with every published window exactly once in the timeline.

* the worker is SIGKILLed while windows are in flight, then restarted: the dispatcher's retries carry them over;
* the dispatcher is SIGKILLed after Kafka acknowledged results but before it committed their offsets
  (``tests.support.faulty_dispatcher`` makes it kill itself at exactly that point): a fresh dispatcher redoes
  those windows, the results topic holds them twice, the timeline once;
* the RTSP camera is SIGKILLed and restarted: the stream reconnects (events: reconnecting -> live) and
  windows resume;
* a poison record (garbage on vila.windows.v1) ends in the DLQ with its reason; the stream goes on.
"""
from __future__ import annotations

import signal
import uuid

from core import topics
from core.transport import kafka as kt
from tests.support.cluster import group_lag as kafka_group_lag
from tests.support.cluster import read_topic
from tests.support.rtsp import requires_rtsp
from tests.support.wait import wait_until

WINDOWING = ("--frames-per-window", "2", "--max-side", "96")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def assert_exactly_once(cluster, stream_id: str, timeout_s: float = 150.0) -> list[str]:
    produced = cluster.window_ids(stream_id)
    assert produced and len(produced) == len(set(produced)), produced
    entries = cluster.wait_timeline(stream_id, set(produced), timeout_s)
    assert sorted(e.window_id for e in entries) == sorted(produced)
    assert not [e for e in entries if e.error], [e.error for e in entries if e.error]
    assert read_topic(cluster.bootstrap, topics.DLQ, key=stream_id) == []
    return produced


def group_lag(cluster, group: str = "e2e-dispatcher") -> int:
    """Records of vila.windows.v1 the dispatchers' group has not committed yet."""
    return kafka_group_lag(cluster.bootstrap, group, topics.WINDOWS)


def states_of(cluster, stream_id: str) -> list[str]:
    """The states ``stream_id`` went through, from vila.events.v1."""
    return [kt.decode_event(r.value).state.value for r in read_topic(cluster.bootstrap, topics.EVENTS, key=stream_id)]


def waits_of(cluster, stream_id: str) -> int:
    """The dispatcher's log lines (since its start) saying a window of ``stream_id`` waits for a worker."""
    return sum(1 for line in cluster.dispatcher.log_since_start().splitlines()
               if f"window {stream_id}:" in line and " waits" in line)


def test_worker_killed_mid_stream_and_restarted(cluster, e2e_clip):
    stream_id = unique("worker-kill")
    # 0.125 s windows: 32 windows, far more than are analysed by the time the first result is stored
    done = cluster.ingest("--source", str(e2e_clip), "--stream-id", stream_id, "--window-seconds", "0.125",
                          *WINDOWING)
    assert done.returncode == 0, done.stderr
    wait_until("a first timeline entry", lambda: cluster.timeline(stream_id), 120, every_s=0.1)
    cluster.worker.kill()
    before = len(cluster.timeline(stream_id))
    # The dispatcher found the worker gone: its windows wait for it (no try is spent on a worker not there).
    wait_until("a window waiting for the worker", lambda: waits_of(cluster, stream_id), 60, every_s=0.1)
    cluster.worker.start(180)
    produced = assert_exactly_once(cluster, stream_id)
    assert before < len(produced) == 32  # windows were still missing when the worker died
    assert not read_topic(cluster.bootstrap, topics.DLQ, key=stream_id)  # none dead-lettered


def test_dispatcher_dies_between_publishing_and_committing(cluster, e2e_clip):
    stream_id = unique("dispatcher-kill")
    cluster.dispatcher.stop()  # graceful: leaves the group with everything committed
    faulty = cluster.make_dispatcher(name="dispatcher-faulty", kill_before_commit_after=1)
    faulty.spawn()
    done = cluster.ingest("--source", str(e2e_clip), "--stream-id", stream_id, "--window-seconds", "1",
                          *WINDOWING)
    assert done.returncode == 0, done.stderr
    assert faulty.wait_exit(150) == -signal.SIGKILL, faulty.log_tail()
    faulty.stop()
    published = [kt.decode_result(r.value).window_id for r in read_topic(cluster.bootstrap, topics.RESULTS,
                                                                        key=stream_id)]
    assert published, "the faulty dispatcher published nothing before exiting"
    assert group_lag(cluster) > 0  # ... and committed none of it

    cluster.dispatcher.start(120)
    wait_until("the group to commit everything", lambda: group_lag(cluster) == 0, 120)
    republished = [kt.decode_result(r.value).window_id for r in read_topic(cluster.bootstrap, topics.RESULTS,
                                                                          key=stream_id)]
    produced = assert_exactly_once(cluster, stream_id)
    assert set(published) <= set(republished) == set(produced)
    assert len(republished) > len(set(republished))  # redelivered results, deduplicated by the summarizer


@requires_rtsp
def test_camera_killed_and_restarted(cluster, rtsp_camera):
    stream_id = unique("camera-kill")
    ingest = cluster.start_ingest("ingest-camera", "--source", rtsp_camera.url, "--stream-id", stream_id,
                                  "--window-seconds", "1", "--max-seconds", "9", "--backoff-max-s", "1",
                                  *WINDOWING)
    try:
        wait_until("camera windows", lambda: len(cluster.window_ids(stream_id)) >= 2, 60)
        rtsp_camera.kill()
        before = len(cluster.window_ids(stream_id))
        wait_until("ingest to see the camera gone", lambda: "reconnecting" in states_of(cluster, stream_id), 60,
                   every_s=0.1)
        rtsp_camera.start()
        assert ingest.wait_exit(90) == 0, ingest.log_tail()
    finally:
        ingest.stop()
    states = states_of(cluster, stream_id)
    first_reconnect = states.index("reconnecting")
    assert "live" in states[first_reconnect:], states
    assert states[-1] == "ended"
    produced = assert_exactly_once(cluster, stream_id)
    assert len(produced) > before + 1, (before, len(produced))  # windows resumed after the restart


def test_poison_record_goes_to_the_dlq_and_the_stream_goes_on(cluster, e2e_clip):
    stream_id = unique("poison")
    producer = kt.make_producer(cluster.bootstrap, client_id="e2e-poison")
    garbage = b"\x00\xffnot a FrameWindow\x13\x37"
    metadata = producer.send(topics.WINDOWS, key=kt.stream_key(stream_id), value=garbage).get(timeout=30)
    producer.close()
    done = cluster.ingest("--source", str(e2e_clip), "--stream-id", stream_id, "--window-seconds", "1",
                          *WINDOWING)
    assert done.returncode == 0, done.stderr

    dead = wait_until("the poison record in the DLQ",
                      lambda: read_topic(cluster.bootstrap, topics.DLQ, key=stream_id), 120)
    assert [r.value for r in dead] == [garbage]
    headers = dead[0].headers
    assert kt.header(headers, topics.DLQ_REASON).startswith("undecodable-record: record is not a vila.v1.FrameWindow")
    assert kt.header(headers, topics.DLQ_STAGE) == "decode"
    assert kt.header(headers, topics.DLQ_SOURCE_TOPIC) == topics.WINDOWS
    assert (kt.header(headers, topics.DLQ_PARTITION), kt.header(headers, topics.DLQ_OFFSET)) == \
        (str(metadata.partition), str(metadata.offset))

    produced = cluster.window_ids(stream_id)
    entries = cluster.wait_timeline(stream_id, set(produced), 120)
    assert sorted(e.window_id for e in entries) == sorted(produced) and len(produced) == 4
    wait_until("the group to commit past the poison record", lambda: group_lag(cluster) == 0, 60)
