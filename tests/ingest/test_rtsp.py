"""RTSP against a real GStreamer RTSP server (tests/support/rtsp_server.py).

The camera is killed and restarted, and frozen (connected but silent), to check
that ingest reconnects on its own and reports the states it went through. Waits
are bounded liveness checks (generous timeouts), never assertions on durations.
"""
from __future__ import annotations

import threading
import time

import pytest

import ingest
from core.errors import SourceNotFound, SourceUnreachable
from core.ids import window_id
from core.types import StreamState
from tests.ingest.helpers import jpeg_size
from tests.support.rtsp import free_port, requires_rtsp
from tests.support.wait import wait_until

pytestmark = [pytest.mark.rtsp, requires_rtsp]

LIVE = ingest.IngestConfig(window_seconds=1.0, frames_per_window=4, open_timeout_s=2.0, read_timeout_s=1.0,
                           max_open_attempts=3, backoff_initial_s=0.1, backoff_max_s=0.5)
WAIT = 20.0  # seconds; only ever hit when something is broken


class LiveRun:
    """Consumes ``iter_windows`` in a thread; tests wait for events/windows as they come."""

    def __init__(self, url: str, config: ingest.IngestConfig = LIVE) -> None:
        self.windows, self.events, self.error = [], [], None
        self.last_progress = time.monotonic()  # when the reader last reported decoding anything
        self.stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(url, config), daemon=True)
        self._thread.start()

    def _run(self, url, config) -> None:
        try:
            for window in ingest.iter_windows(url, "cam", config, on_event=self._event, on_progress=self._progress,
                                              stop=self.stop):
                with self._changed:
                    self.windows.append(window)
                    self._changed.notify_all()
        except Exception as exc:  # noqa: BLE001 - kept for the test to assert on
            self.error = exc
        with self._changed:
            self._changed.notify_all()

    def _progress(self, progress) -> None:
        self.last_progress = time.monotonic()

    def _event(self, event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, what: str, predicate, timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate() or not self._thread.is_alive(), timeout):
                pytest.fail(f"timed out waiting for {what}; events: {self.states()}")
        if not predicate():
            pytest.fail(f"ingest ended before {what}: {self.error!r}; events: {self.states()}")

    def states(self) -> list[str]:
        return [e.state.value for e in self.events]

    def index_of(self, state: StreamState, after: int = -1) -> int | None:
        return next((i for i, e in enumerate(self.events) if i > after and e.state is state), None)

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "ingest did not stop after stop was set"


def test_live_frames_arrive_with_increasing_timestamps(rtsp_camera):
    info = ingest.probe(rtsp_camera.url, LIVE)
    assert (info.kind, info.live, info.duration, info.codec) == ("rtsp", True, None, "h264")
    assert (info.width, info.height) == (320, 240)

    events = []
    config = ingest.IngestConfig(window_seconds=1.0, frames_per_window=4, max_seconds=3.0,
                                 open_timeout_s=2.0, read_timeout_s=1.0)
    windows = list(ingest.iter_windows(rtsp_camera.url, "cam", config, on_event=events.append))
    assert [e.state for e in events][:2] == [StreamState.CONNECTING, StreamState.LIVE]
    assert events[-1].state is StreamState.ENDED and events[-1].detail == "max_seconds reached"
    assert [w.seq for w in windows] == list(range(len(windows))) and len(windows) >= 2
    pts = [f.pts for w in windows for f in w.frames]
    assert pts == sorted(pts) and len(set(pts)) == len(pts) and pts[0] >= 0.0
    assert all(f.pts < 3.0 for f in windows[-1].frames) and windows[-1].end <= 3.0
    origin = windows[0].origin_unix
    assert origin > 1e9 and all(w.origin_unix == origin for w in windows)  # wall clock of the first frame
    for w in windows:
        assert w.window_id == window_id("cam", origin + w.start)
        assert all(jpeg_size(f.jpeg) == (320, 240) for f in w.frames)
        assert all(w.start <= f.pts < w.end for f in w.frames)


def test_killed_camera_is_reconnected_and_windows_resume(rtsp_camera):
    run = LiveRun(rtsp_camera.url)
    try:
        run.wait("a first window", lambda: len(run.windows) >= 1)
        rtsp_camera.kill()
        run.wait("reconnecting", lambda: run.index_of(StreamState.RECONNECTING) is not None)
        killed_at = run.windows[-1].end
        rtsp_camera.start()  # same port and mount
        first_reconnect = run.index_of(StreamState.RECONNECTING)
        run.wait("live again", lambda: run.index_of(StreamState.LIVE, after=first_reconnect) is not None)
        run.wait("a window after the restart", lambda: any(w.start > killed_at for w in run.windows))
    finally:
        run.finish()
    states = run.states()
    assert states[0] == "connecting" and states[1] == "live"
    assert states.index("reconnecting") > 1 and "live" in states[states.index("reconnecting"):]
    assert states[-1] == "ended" and run.events[-1].detail == "stopped"
    assert run.error is None
    assert [w.seq for w in run.windows] == list(range(len(run.windows)))
    starts = [w.start for w in run.windows]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_frozen_camera_is_detected_as_stalled_and_reconnected(rtsp_camera):
    run = LiveRun(rtsp_camera.url)
    try:
        run.wait("a first window", lambda: len(run.windows) >= 1)
        rtsp_camera.freeze()
        run.wait("stalled", lambda: run.index_of(StreamState.STALLED) is not None)
        stalled = run.index_of(StreamState.STALLED)
        assert run.events[stalled].detail == "no data for 1 s"
        windows_before = len(run.windows)
        rtsp_camera.thaw()
        run.wait("live again", lambda: run.index_of(StreamState.LIVE, after=stalled) is not None)
        run.wait("a window after the stall", lambda: len(run.windows) > windows_before + 1)
    finally:
        run.finish()
    states = run.states()
    assert states.index("stalled") < states.index("reconnecting", states.index("stalled"))
    assert run.error is None


def test_stop_ends_a_stalled_read(rtsp_camera):
    run = LiveRun(rtsp_camera.url, ingest.IngestConfig(window_seconds=1.0, frames_per_window=2,
                                                        open_timeout_s=2.0, read_timeout_s=2.0))
    run.wait("a first window", lambda: len(run.windows) >= 1)
    rtsp_camera.freeze()
    # The reader blocks on the silent socket: it reports no progress (every 0.5 s of stream time while frames
    # come; the stall event only after the 2 s read timeout). Stop it once it has been silent for 1 s.
    wait_until("the reader silent for 1 s", lambda: time.monotonic() - run.last_progress >= 1.0, 5,
               every_s=0.05)
    run.finish()  # returns only if the blocked read was bounded by the read timeout
    assert run.events[-1].state is StreamState.ENDED and run.events[-1].detail == "stopped"
    assert run.error is None


def test_camera_that_never_sends_fails_after_the_attempts(rtsp_camera):
    rtsp_camera.freeze()
    config = ingest.IngestConfig(window_seconds=1.0, open_timeout_s=1.0, read_timeout_s=1.0,
                                 max_open_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.1)
    events = []
    with pytest.raises(SourceUnreachable) as info:
        list(ingest.iter_windows(rtsp_camera.url, "cam", config, on_event=events.append))
    assert str(info.value).startswith(rtsp_camera.url)
    assert [e.attempt for e in events if e.state is StreamState.CONNECTING] == [1, 2]
    assert events[-1].state is StreamState.ENDED


def test_unreachable_port_fails_after_max_open_attempts():
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    events = []
    with pytest.raises(SourceUnreachable) as info:
        list(ingest.iter_windows(url, "cam", LIVE, on_event=events.append))
    assert str(info.value) == f"{url}: connection refused (is the server running?)"
    assert [e.attempt for e in events if e.state is StreamState.CONNECTING] == [1, 2, 3]
    assert events[-1].state is StreamState.ENDED and events[-1].extra["error"] == "source-unreachable"
    with pytest.raises(SourceUnreachable):
        ingest.probe(url, LIVE)


def test_wrong_path_is_not_found_at_once(rtsp_camera):
    url = rtsp_camera.url.replace("/cam", "/no-such-camera")
    events = []
    with pytest.raises(SourceNotFound) as info:
        list(ingest.iter_windows(url, "cam", LIVE, on_event=events.append))
    assert str(info.value) == f"{url}: not found (404): check the path or stream name"
    assert [e.attempt for e in events if e.state is StreamState.CONNECTING] == [1]  # not retried


def test_credentials_are_not_shown():
    url = f"rtsp://admin:secret@127.0.0.1:{free_port()}/cam"
    config = ingest.IngestConfig(max_open_attempts=1)
    with pytest.raises(SourceUnreachable) as info:
        list(ingest.iter_windows(url, "cam", config))
    assert "secret" not in str(info.value) and "***@127.0.0.1" in str(info.value)
