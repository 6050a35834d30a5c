"""``python -m ingest`` / ``vila-stream ingest`` against a real Kafka broker (and the RTSP test camera).

Several streams per process; windows keyed by stream id on vila.windows.v1, states on vila.events.v1;
a slow Kafka (the broker SIGSTOPped) makes a live stream drop its oldest windows, counted, instead of
stalling the decoder; SIGTERM flushes and exits 0; an unreachable Kafka is one line and exit 5.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from services.cluster import ManagedProcess, free_port
from core import topics
from core.transport import kafka as kt
from tests.support.cluster import ROOT, read_topic
from tests.support.rtsp import requires_rtsp
from tests.support.video_fixtures import make_clip
from tests.support.wait import wait_until

SMALL = ("--frames-per-window", "2", "--max-side", "64")


def ingest(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def windows_of(bootstrap: str, stream_id: str):
    return [kt.decode_window(r.value) for r in read_topic(bootstrap, topics.WINDOWS, key=stream_id)]


def states_of(bootstrap: str, stream_id: str):
    return [kt.decode_event(r.value) for r in read_topic(bootstrap, topics.EVENTS, key=stream_id)]


def test_two_files_from_a_streams_file_are_published_keyed_by_stream(kafka_broker, tmp_path):
    a, b = unique("a"), unique("b")
    clip_a = make_clip(tmp_path / "a.mp4", seconds=3.0, fps=10, size=(160, 120))
    clip_b = make_clip(tmp_path / "b.mkv", seconds=2.0, fps=10, size=(160, 120))
    config = tmp_path / "streams.toml"
    config.write_text(f'[defaults]\nwindow_seconds = 1\n\n[[stream]]\nid = "{a}"\nsource = "{clip_a}"\n\n'
                      f'[[stream]]\nid = "{b}"\nsource = "{clip_b}"\nwindow_seconds = 0.5\n')
    done = ingest("--kafka-bootstrap", kafka_broker.bootstrap, "--config", str(config), *SMALL)
    assert done.returncode == 0, done.stderr
    assert f"{a}: state=ended windows=3 published=3 dropped=0 failed=0" in done.stderr
    assert f"{b}: state=ended windows=4 published=4 dropped=0 failed=0" in done.stderr

    for stream_id, starts in ((a, [0.0, 1.0, 2.0]), (b, [0.0, 0.5, 1.0, 1.5])):
        windows = windows_of(kafka_broker.bootstrap, stream_id)
        assert [w.start for w in windows] == starts  # one key: one partition, in order
        assert [w.seq for w in windows] == list(range(len(starts)))
        assert all(w.stream_id == stream_id and len(w.frames) == 2 for w in windows)
        events = states_of(kafka_broker.bootstrap, stream_id)
        assert [e.state.value for e in events] == ["connecting", "live", "ended"]
        assert events[-1].extra["windows"] == str(len(starts))


def test_a_missing_file_fails_before_kafka_is_touched(tmp_path):
    done = ingest("--kafka-bootstrap", f"127.0.0.1:{free_port()}", "--source", str(tmp_path / "none.mp4"),
                  "--stream-id", "x")
    assert done.returncode == 3
    assert done.stderr.strip() == f"vila-ingest: error: {tmp_path / 'none.mp4'}: no such file"


def test_vila_stream_ingest_says_when_kafka_is_unreachable(tmp_path):
    clip = make_clip(tmp_path / "a.mp4", seconds=1.0, fps=5, size=(64, 48))
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "services.cli.main", "ingest", "--source", str(clip),
                           "--stream-id", "x", "--connect-timeout-s", "1"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "VILA_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"})
    assert done.returncode == 5
    assert done.stderr.strip().splitlines() == [
        f"vila-stream: error: Kafka at 127.0.0.1:{port} is unreachable (KafkaTimeoutError); is the cluster up? "
        f"(set VILA_KAFKA_BOOTSTRAP or --kafka-bootstrap)"]


def test_vila_stream_ingest_feeds_the_default_bootstrap(kafka_broker, tmp_path):
    clip = make_clip(tmp_path / "a.mp4", seconds=2.0, fps=10, size=(64, 48))
    stream_id = unique("cli")
    done = subprocess.run([sys.executable, "-m", "services.cli.main", "ingest", "--source", str(clip),
                           "--stream-id", stream_id, "--window-seconds", "1", *SMALL], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "VILA_KAFKA_BOOTSTRAP": kafka_broker.bootstrap})
    assert done.returncode == 0, done.stderr
    assert f"{stream_id}: 100%" in done.stderr  # the progress bar reached the end of the file
    assert [w.start for w in windows_of(kafka_broker.bootstrap, stream_id)] == [0.0, 1.0]


def _ingest_process(tmp_path: Path, bootstrap: str, *args: str) -> ManagedProcess:
    def ready() -> bool:
        return "ready ingest" in (tmp_path / "ingest.log").read_text()

    return ManagedProcess("ingest", tmp_path, [sys.executable, "-m", "ingest", "--kafka-bootstrap", bootstrap,
                                               *args], probe=ready, cwd=ROOT, die_with_parent=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def progress_of(proc: ManagedProcess, stream_id: str) -> dict[str, int] | None:
    """The counters of the latest ``progress`` line the ingest process logged for ``stream_id``."""
    lines = [line for line in proc.log_path.read_text().splitlines() if f" progress {stream_id}: " in line]
    if not lines:
        return None
    parts = lines[-1].split(f" progress {stream_id}: ", 1)[1].split()
    return {key: int(value) for key, value in (part.split("=") for part in parts) if key != "state"}


@requires_rtsp
def test_a_slow_kafka_makes_a_live_stream_drop_its_oldest_windows(kafka_broker, rtsp_camera, tmp_path):
    stream_id = unique("slow")
    proc = _ingest_process(tmp_path, kafka_broker.bootstrap, "--source", rtsp_camera.url, "--stream-id",
                           stream_id, "--window-seconds", "0.25", "--queue-size", "2", "--stats-interval-s", "0.25",
                           *SMALL).start(60)
    try:
        wait_until("first windows", lambda: len(windows_of(kafka_broker.bootstrap, stream_id)) >= 2, 60)
        os.kill(kafka_broker.pid, signal.SIGSTOP)  # Kafka stops answering: acks never come
        try:
            # The decoder goes on meanwhile; the queue holds 2, so the oldest windows are dropped.
            stalled = wait_until("5 windows dropped while Kafka is stopped",
                                 lambda: (c := progress_of(proc, stream_id)) and c["dropped"] >= 5 and c, 60,
                                 every_s=0.1, detail=proc.log_tail)
        finally:
            os.kill(kafka_broker.pid, signal.SIGCONT)
        # Kafka is back: windows decoded after the drops reach the topic.
        wait_until("a window decoded after the drops to be published",
                   lambda: any(w.seq >= stalled["windows"] for w in windows_of(kafka_broker.bootstrap, stream_id)),
                   60, detail=proc.log_tail)
        proc._popen.send_signal(signal.SIGTERM)
        assert proc._popen.wait(timeout=60) == 0, proc.log_tail()
    finally:
        proc.stop()
    log = proc.log_path.read_text()
    stats = next(line for line in log.splitlines() if line.startswith(f"ingest: stats {stream_id}:"))
    counters = dict(part.split("=") for part in stats.split(": ", 2)[2].split())
    windows, published, dropped = int(counters["windows"]), int(counters["published"]), int(counters["dropped"])
    assert dropped >= 5, stats  # the decoder went on while Kafka was stopped
    assert published + dropped + int(counters["failed"]) == windows, stats
    assert "window(s) dropped so far" in log
    published_windows = windows_of(kafka_broker.bootstrap, stream_id)
    assert len(published_windows) == published
    assert [w.seq for w in published_windows] == sorted(w.seq for w in published_windows)
    assert len({w.seq for w in published_windows}) == published < max(w.seq for w in published_windows) + 1
    ended = states_of(kafka_broker.bootstrap, stream_id)[-1]
    assert ended.state.value == "ended" and int(ended.extra["dropped"]) >= 5


@requires_rtsp
def test_sigterm_stops_a_live_stream_and_flushes(kafka_broker, rtsp_camera, tmp_path):
    stream_id = unique("term")
    proc = _ingest_process(tmp_path, kafka_broker.bootstrap, "--source", rtsp_camera.url, "--stream-id",
                           stream_id, "--window-seconds", "0.5", *SMALL).start(60)
    try:
        wait_until("windows", lambda: len(windows_of(kafka_broker.bootstrap, stream_id)) >= 2, 60)
        proc._popen.send_signal(signal.SIGTERM)
        assert proc._popen.wait(timeout=60) == 0, proc.log_tail()
    finally:
        proc.stop()
    log = proc.log_path.read_text()
    assert f"ingest: stats {stream_id}: state=ended" in log
    stats = next(line for line in log.splitlines() if line.startswith(f"ingest: stats {stream_id}:"))
    published = int(stats.split("published=")[1].split()[0])
    assert len(windows_of(kafka_broker.bootstrap, stream_id)) == published >= 2
    assert states_of(kafka_broker.bootstrap, stream_id)[-1].detail == "stopped"
