"""Run the test RTSP camera (``rtsp_server.py``) from pytest: start, kill, restart, freeze.

    from tests.support.rtsp import RtspCamera, requires_rtsp, rtsp_camera

    @requires_rtsp
    def test_x(rtsp_camera):              # fixture: a camera serving a small synthetic clip
        url = rtsp_camera.url
        rtsp_camera.kill(); rtsp_camera.start()   # crash and come back on the same port
        rtsp_camera.freeze(); rtsp_camera.thaw()  # stop / resume sending data

or ``with RtspCamera(clip) as cam: ...``. The server runs under Debian's
``/usr/bin/python3`` (python3-gi is not in the virtualenv); ``requires_rtsp``
skips, with the reason, where GStreamer's rtsp-server typelib is missing.
"""
from __future__ import annotations

import functools
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

__all__ = ["RtspCamera", "free_port", "rtsp_available", "requires_rtsp", "rtsp_camera", "rtsp_clip", "SYSTEM_PYTHON"]

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")
_PROBE = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
          "gi.require_version('GstPbutils', '1.0'); from gi.repository import Gst, GstRtspServer; Gst.init(None); "
          "missing = [e for e in ('intervideosrc', 'x264enc', 'rtph264pay', 'valve', 'decodebin') "
          "if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))")


@functools.lru_cache(maxsize=1)
def rtsp_available() -> tuple[bool, str]:
    """(True, "") when the GStreamer RTSP server and the elements it needs are installed."""
    if not os.path.exists(SYSTEM_PYTHON):
        return False, f"{SYSTEM_PYTHON} not found (the RTSP test server needs Debian's python3-gi)"
    try:
        out = subprocess.run([SYSTEM_PYTHON, "-c", _PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot run {SYSTEM_PYTHON}: {exc}"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, ("GStreamer rtsp-server typelib missing (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
                       f"gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly "
                       f"gstreamer1.0-libav): {last}")
    if out.stdout.strip():
        return False, f"GStreamer elements missing: {out.stdout.strip()}"
    return True, ""


requires_rtsp = pytest.mark.skipif(not rtsp_available()[0], reason=rtsp_available()[1] or "rtsp available")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspCamera:
    """One test camera process; ``url`` stays the same across kill/start."""

    def __init__(self, clip: str | Path, *, mount: str = "/cam", port: int | None = None,
                 ready_timeout: float = 20.0) -> None:
        self.clip, self.mount = str(clip), mount
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.mount}"

    def start(self) -> "RtspCamera":
        """Start the server and wait until it listens and accepts a TCP connection."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._lines = queue.Queue()
        # stderr to a file: an undrained pipe would block GStreamer's logging and hang the server.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), self.clip, "--port", str(self.port), "--mount", self.mount],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        self._expect("READY", self.ready_timeout)
        self._wait_accepting(self.ready_timeout)
        return self

    def _pump(self, proc: subprocess.Popen) -> None:
        try:
            for line in proc.stdout:
                self._lines.put(line.strip())
        except (OSError, ValueError):  # stdout closed by stop()
            pass

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (for failure messages)."""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:]

    def _expect(self, word: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"RTSP test server exited ({self.proc.returncode}): {self.stderr_tail().strip()}")
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line.startswith(word):
                return line
        raise RuntimeError(f"RTSP test server did not print {word} within {timeout} s")

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"RTSP test server not accepting on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the camera crashes; connected clients see their stream end."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def freeze(self) -> None:
        """Clients stay connected but get no data (SIGUSR1)."""
        self._signal(signal.SIGUSR1, "FROZEN")

    def thaw(self) -> None:
        """Data flows again (SIGUSR2)."""
        self._signal(signal.SIGUSR2, "THAWED")

    def _signal(self, signum: int, ack: str) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("RTSP test server is not running")
        self.proc.send_signal(signum)
        self._expect(ack, 5.0)

    def __enter__(self) -> "RtspCamera":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="session")
def rtsp_clip(tmp_path_factory) -> Path:
    """The clip the test camera serves: 4 s, 320x240, 15 fps, H.264 (looped forever)."""
    from tests.support.video_fixtures import make_clip

    return make_clip(tmp_path_factory.mktemp("rtsp") / "camera.mp4", seconds=4.0, fps=15)


@pytest.fixture
def rtsp_camera(rtsp_clip):
    """A running camera on a free port, stopped after the test."""
    ok, reason = rtsp_available()
    if not ok:
        pytest.skip(reason)
    with RtspCamera(rtsp_clip) as camera:
        yield camera
