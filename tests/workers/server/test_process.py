"""``python -m workers`` as a real process: ready line, health, drain on SIGTERM, exit codes."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from vila.v1 import inference_pb2, inference_pb2_grpc

from tests.support.wait import wait_until
from tests.workers.server.harness import caption_request

ROOT = Path(__file__).resolve().parents[3]


def launch(*args: str, env: dict | None = None) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "workers", "--port", "0", *args], cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(process: subprocess.Popen, timeout: float = 120.0) -> str:
    """The address from the worker's ``ready`` line (the stderr lines before it are kept for messages)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.match(r"ready vila\.v1\.Inference on (\S+) ", line)
        if match:
            return match.group(1)
    process.kill()
    raise AssertionError("worker never printed its ready line:\n" + "".join(seen[-20:]))


def test_serves_then_drains_in_flight_requests_on_sigterm_and_exits_zero(tiny_model_dir):
    # One process for the whole life cycle: starting a Python process with torch is the slow part.
    process = launch("--model", str(tiny_model_dir), "--max-batch-size", "8", "--max-wait-ms", "5000",
                     "--grace-s", "20")
    try:
        address = wait_ready(process)
        with grpc.insecure_channel(address) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="vila.v1.Inference"), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            stub = inference_pb2_grpc.InferenceStub(channel)
            # Three requests wait up to 5 s in the batcher for batch-mates; SIGTERM arrives while they wait.
            futures = [stub.Caption.future(caption_request(seq), timeout=60) for seq in range(3)]
            # Info reports the batcher's queue: SIGTERM once all three wait in it.
            wait_until("three requests in the batcher", lambda: stub.Info(inference_pb2.InfoRequest(),
                                                                          timeout=10).queued == 3, 4, every_s=0.05)
            process.send_signal(signal.SIGTERM)
            replies = [f.result() for f in futures]
        assert all(r.error == "" and r.window.window_id == f"cam:{i}" for i, r in enumerate(replies))
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr[-2000:]
        assert "SIGTERM" in stderr and "'requests': 4" in stderr  # the warm-up and the three drained requests
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("args, env, code, message", [
    (["--tier", "gpu"], {}, 2, "tier: unknown tier 'gpu'"),
    ([], {"VILA_MODEL": "/nonexistent/model"}, 4, "/nonexistent/model"),
])
def test_bad_settings_exit_with_one_line(args, env, code, message):
    process = launch(*args, env=env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("vila-worker: error:") and message in last
    assert "Traceback" not in stderr
