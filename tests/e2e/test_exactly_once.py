"""End to end on real services: a live RTSP camera and a file ingested at once by one ``python -m ingest``;
every window published lands exactly once in the Redis timeline (checked by window id, through the
summarizer's gRPC API and in Redis itself); ``vila-stream timeline`` shows it; a Watch client gets the
entries live."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import grpc
from vila.v1 import summaries_pb2, summaries_pb2_grpc

from services.summarizer.keys import StreamKeys
from tests.support.cluster import ROOT
from tests.support.rtsp import requires_rtsp
from tests.support.wait import wait_until

WINDOWING = ("--window-seconds", "1", "--frames-per-window", "2", "--max-side", "96")


class Watcher:
    """A vila.v1.Summaries Watch client in a thread, collecting the entries' window ids per stream."""

    def __init__(self, address: str, stream_ids: list[str]) -> None:
        self.channel = grpc.insecure_channel(address)
        stub = summaries_pb2_grpc.SummariesStub(self.channel)
        self.call = stub.Watch(summaries_pb2.WatchRequest(stream_ids=stream_ids, wait_for_new=True))
        self.call.initial_metadata()  # the summarizer sends it once its starting point is fixed
        self.entries: dict[str, set[str]] = {s: set() for s in stream_ids}
        self.events: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for update in self.call:
                if update.HasField("entry"):
                    self.entries[update.entry.stream_id].add(update.entry.window_id)
                else:
                    self.events.append(update.event.stream_id)
        except grpc.RpcError:
            pass  # cancelled by close()

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@requires_rtsp
def test_a_camera_and_a_file_land_exactly_once(cluster, rtsp_camera, e2e_clip, redis_server):
    file_id, camera_id = unique("file"), unique("camera")
    watcher = Watcher(cluster.summaries_address, [file_id, camera_id])
    try:
        done = cluster.ingest("--source", str(e2e_clip), "--stream-id", file_id,
                              "--source", rtsp_camera.url, "--stream-id", camera_id,
                              "--max-seconds", "4", *WINDOWING)
        assert done.returncode == 0, done.stderr
        assert f"{file_id}: state=ended windows=4 published=4 dropped=0 failed=0" in done.stderr

        redis = redis_server.client()
        for stream_id in (file_id, camera_id):
            produced = cluster.window_ids(stream_id)
            assert produced and len(produced) == len(set(produced)), produced
            entries = cluster.wait_timeline(stream_id, set(produced))
            assert sorted(e.window_id for e in entries) == sorted(produced)  # each exactly once, nothing else
            assert set(redis.zrange(StreamKeys(stream_id).timeline, 0, -1)) == {i.encode() for i in produced}
            wait_until(f"Watch entries of {stream_id}", lambda: watcher.entries[stream_id] >= set(produced), 30)
            assert watcher.entries[stream_id] == set(produced)
        assert len(cluster.window_ids(file_id)) == 4
    finally:
        watcher.close()

    shown = subprocess.run([sys.executable, "-m", "services.cli.main", "timeline", file_id,
                            "--server", cluster.summaries_address, "--json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    windows = json.loads(shown.stdout)["windows"]
    assert sorted(w["window_id"] for w in windows) == sorted(cluster.window_ids(file_id))
    assert [w["start"] for w in windows] == [0.0, 1.0, 2.0, 3.0]
