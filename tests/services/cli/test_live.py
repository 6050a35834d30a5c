"""``analyze`` on a real RTSP camera (GStreamer's server): limits, Ctrl-C, restarts, errors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.services.cli.conftest import assert_clean_error
from tests.support.rtsp import requires_rtsp, rtsp_camera, rtsp_clip  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.rtsp, pytest.mark.slow, requires_rtsp]


def test_max_seconds_limits_a_live_source(cli, rtsp_camera, tiny_model_dir):
    run = cli("analyze", rtsp_camera.url, "--model", tiny_model_dir, "--window-seconds", "1",
              "--max-seconds", "3", timeout=120)
    assert run.returncode == 0, run.stderr
    windows = run.json["windows"]
    assert 2 <= len(windows) <= 4
    assert all(w["end"] <= 3.0 + 0.5 for w in windows)
    assert [w["start"] for w in windows] == sorted(w["start"] for w in windows)


def test_wrong_rtsp_path(cli, rtsp_camera, tiny_model_dir):
    url = rtsp_camera.url.replace("/cam", "/no-such-camera")
    assert_clean_error(cli("analyze", url, "--model", tiny_model_dir, timeout=120), 3, url)


class Analysis:
    """``vila-stream analyze`` running in the background, its stderr collected."""

    def __init__(self, url, model, out, vila_home, *extra):
        self.out = out
        self.stderr = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "analyze", url, "--model", str(model),
             "--window-seconds", "1", "--json", str(out), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "VILA_STREAM_HOME": str(vila_home)},
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        while chunk := self.proc.stderr.read(1):
            self.stderr += chunk

    def wait_for(self, text: str, timeout: float = 60.0, after: int = 0) -> None:
        """Until ``text`` is in stderr (past its first ``after`` characters) or ``timeout`` has passed."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr[after:]:
            assert self.proc.poll() is None, f"analyze exited early: {self.stderr[-2000:]}"
            assert time.monotonic() < deadline, f"{text!r} not seen: {self.stderr[-2000:]}"
            time.sleep(0.1)

    def finish(self, timeout: float = 60.0) -> tuple[int, dict | None]:
        code = self.proc.wait(timeout=timeout)
        data = json.loads(self.out.read_text()) if self.out.exists() else None
        return code, data


def test_ctrl_c_stops_cleanly_and_writes_results(rtsp_camera, tiny_model_dir, tmp_path, vila_home):
    run = Analysis(rtsp_camera.url, tiny_model_dir, tmp_path / "r.json", vila_home)
    run.wait_for("analyzing: 2 windows")
    run.proc.send_signal(signal.SIGINT)
    code, data = run.finish()
    assert code == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert data is not None and len(data["windows"]) >= 2
    assert data["interrupted"] is True and data["complete"] is False


def test_camera_restart_resumes_analysis(rtsp_camera, tiny_model_dir, tmp_path, vila_home):
    run = Analysis(rtsp_camera.url, tiny_model_dir, tmp_path / "r.json", vila_home, "--max-seconds", "10")
    run.wait_for("analyzing: 1 window ")
    seen = len(run.stderr)
    rtsp_camera.kill()
    run.wait_for("reconnecting", after=seen)  # analyze noticed that the camera is gone: bring it back
    rtsp_camera.start()
    code, data = run.finish(timeout=90)
    assert code == 0, run.stderr
    starts = [w["start"] for w in data["windows"]]
    assert starts == sorted(starts)
    # windows after the restart exist: analysis resumed on its own
    assert max(w["end"] for w in data["windows"]) > 5.0, data["windows"]
    assert len(starts) >= 4
    assert "reconnecting" in run.stderr
