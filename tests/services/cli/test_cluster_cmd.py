"""What ``vila-stream cluster`` tells the user: where clients connect and how to stop what it started."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest

from core.errors import ClusterError
from services.cli.cluster_cmd import print_started
from services.cluster import launcher
from services.cluster.launcher import ClusterConfig
from services.cluster.paths import default_run_dir
from services.cluster.process import ProcessRecord, _start_ticks
from services.summarizer.client import ADDRESS_ENV


def started_text(config: ClusterConfig) -> list[str]:
    out = io.StringIO()
    print_started(config, [], True, out)
    return out.getvalue().splitlines()


def test_the_clients_line_names_every_address_a_client_needs(tmp_path):
    config = ClusterConfig(run_dir=tmp_path, kafka_port=19192, redis_port=16479, summarizer_port=50071)
    [clients] = [line for line in started_text(config) if line.startswith("clients: ")]
    assert "VILA_KAFKA_BOOTSTRAP=127.0.0.1:19192" in clients
    assert "VILA_REDIS_URL=redis://127.0.0.1:16479/0" in clients
    assert f"{ADDRESS_ENV}=127.0.0.1:50071" in clients  # what `vila-stream timeline` and the client read


def test_the_stop_hint_names_a_run_dir_that_is_not_the_default(tmp_path):
    run_dir = tmp_path / "my cluster"
    [logs] = [line for line in started_text(ClusterConfig(run_dir=run_dir)) if line.startswith("logs: ")]
    assert logs.endswith(f"stop with `vila-stream cluster down --run-dir '{run_dir}'`")
    [logs] = [line for line in started_text(ClusterConfig(run_dir=default_run_dir())) if line.startswith("logs: ")]
    assert logs.endswith("stop with `vila-stream cluster down`")


def test_a_partly_running_cluster_says_how_to_stop_it(tmp_path):
    """A component recorded as running (a real process) that is not the whole cluster: `up` refuses."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        ProcessRecord("redis", proc.pid, _start_ticks(proc.pid), [], str(tmp_path / "redis.log")).save(
            tmp_path / "redis.pid")
        with pytest.raises(ClusterError) as info:
            launcher.up(ClusterConfig(run_dir=tmp_path))
        assert f"run `vila-stream cluster down --run-dir {tmp_path}` first" in str(info.value)
    finally:
        proc.kill()
        proc.wait()
