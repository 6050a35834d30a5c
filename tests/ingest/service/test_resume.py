"""A file's ingest killed mid-file and run again publishes only what the first run had not
(ingest/service/resume.py), against a real broker: before, the rerun published every window again, and each
was analysed twice."""
from __future__ import annotations

import os
import signal
import sys
from collections import Counter

from core import topics
from core.transport import kafka as kt
from services.cluster import ManagedProcess
from tests.ingest.service.test_ingest_kafka import SMALL, ingest, unique
from tests.support.cluster import ROOT, read_topic
from tests.support.video_fixtures import make_clip
from tests.support.wait import wait_until

WINDOWS = 30


def window_ids(bootstrap: str, stream_id: str) -> list[str]:
    return [kt.decode_window(r.value).window_id for r in read_topic(bootstrap, topics.WINDOWS, key=stream_id)]


def test_a_rerun_of_a_killed_file_ingest_goes_on_after_what_was_published(kafka_broker, tmp_path):
    bootstrap, stream_id = kafka_broker.bootstrap, unique("resume")
    clip = make_clip(tmp_path / "clip.mp4", seconds=WINDOWS / 2, fps=8, size=(96, 64))
    args = ["--kafka-bootstrap", bootstrap, "--source", str(clip), "--stream-id", stream_id,
            "--window-seconds", "0.5", "--queue-size", "1", *SMALL]
    first = ManagedProcess("ingest", tmp_path, [sys.executable, "-m", "ingest", *args], cwd=ROOT,
                           die_with_parent=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first.spawn()
    try:
        # killed once it has recorded progress (a run killed before its first record resumes nothing)
        wait_until("the first progress record", lambda: read_topic(bootstrap, topics.INGEST_PROGRESS, key=stream_id),
                   60, every_s=0.05)
        os.kill(first.pid, signal.SIGSTOP)
        published_before = len(window_ids(bootstrap, stream_id))
        assert published_before < WINDOWS  # killed mid-file
    finally:
        first.kill()

    rerun = ingest(*args)
    assert rerun.returncode == 0, rerun.stderr
    ids = window_ids(bootstrap, stream_id)
    assert len(set(ids)) == WINDOWS  # the whole file is on Kafka
    # Each window once; the one whose progress record the kill caught in flight may be there twice.
    assert sum(n - 1 for n in Counter(ids).values()) <= 1, Counter(ids).most_common(3)
    skipped = int(rerun.stderr.split(f"{stream_id}: state=ended ")[1].split("skipped=")[1].split()[0])
    assert published_before - 1 <= skipped <= published_before
    assert f"published={WINDOWS - skipped} dropped=0 failed=0 skipped={skipped}" in rerun.stderr

    again = ingest(*args)  # everything was published: nothing is sent
    assert again.returncode == 0 and f"windows={WINDOWS} published=0 dropped=0 failed=0 skipped={WINDOWS}" \
        in again.stderr, again.stderr
    everything = ingest(*args, "--from-start", "true")
    assert f"windows={WINDOWS} published={WINDOWS} dropped=0 failed=0\n" in everything.stderr, everything.stderr
    os.utime(clip, ns=(1, 1))  # another version of the file under that stream id starts over
    touched = ingest(*args)
    assert f"windows={WINDOWS} published={WINDOWS} dropped=0 failed=0\n" in touched.stderr, touched.stderr
