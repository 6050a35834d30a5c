"""The cluster's own services as real subprocesses, against the session's Kafka and Redis.

    from tests.support.cluster import cluster  # noqa: F401   (in a conftest)

    def test_x(cluster):
        cluster.ingest("--source", clip, "--stream-id", sid)   # python -m ingest, to its end
        cluster.wait_timeline(sid, ids)                       # the summarizer's vila.v1.Summaries
        cluster.dispatcher.kill(); cluster.dispatcher.start()  # fault tests

``cluster`` (package-scoped: one per test package that imports it) runs one edge worker (``python -m workers``, the embedded tiny model),
one dispatcher (``python -m services.dispatcher``) and one summarizer (``python -m
services.summarizer``), each a ``services.cluster.ManagedProcess`` that is ready when its log shows
its ``ready ...`` line. Fault tests kill and restart them; ``cluster.heal()`` (called after every
test that uses the fixture) restarts whatever is down, so one test's fault never leaks into the next.
Kafka topic helpers read whole topics without a consumer group (``core.transport.topic_reader.read_topic``,
re-exported here), so they never move any offset.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

import grpc
import pytest
from kafka import KafkaConsumer, TopicPartition
from vila.v1 import summaries_pb2, summaries_pb2_grpc

from services.cluster import ManagedProcess, free_port
from core.errors import UndecodableRecord
from core.transport import kafka as kt
from core.transport.topic_reader import read_topic
from tests.support.wait import wait_until

__all__ = ["Cluster", "Service", "cluster", "group_lag", "read_topic"]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0  # two shared cores: a worker loads torch and the model, then warms up


class Service(ManagedProcess):
    """``python -m MODULE ARGS``; ready once its log shows a ``ready `` line after its latest start."""

    def __init__(self, name: str, run_dir: Path, module: str, args: Sequence[str], *, endpoint: str = "",
                 env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        super().__init__(name, run_dir, [sys.executable, "-m", module, *args], endpoint=endpoint,
                         env=environment, cwd=ROOT, die_with_parent=True)
        self.args = list(args)

    def probe(self) -> bool:
        text = self.log_path.read_text(errors="replace")
        latest = text[text.rfind("\n=== "):]
        return any(line.startswith("ready ") for line in latest.splitlines())

    def wait_exit(self, timeout: float) -> int:
        """The exit status of a process expected to end by itself (fault injection, an ingest run);
        AssertionError with the end of its log when it is still running after ``timeout`` seconds."""
        import subprocess

        try:
            return super().wait_exit(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout:.0f} s; its log ends:\n"
                                 f"{self.log_tail(40)}") from None

    def log_since_start(self) -> str:
        text = self.log_path.read_text(errors="replace")
        return text[text.rfind("\n=== "):]




def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` that consumer group ``group`` has not committed yet (a partition it never committed
    counts whole). Zero means the group has finished with everything published so far: nothing can be replayed."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions)
        return sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
    finally:
        consumer.close()


class Cluster:
    """Worker (edge), dispatcher and summarizer on loopback; see the module docstring."""

    def __init__(self, run_dir: Path, bootstrap: str, redis_url: str) -> None:
        self.run_dir, self.bootstrap, self.redis_url = run_dir, bootstrap, redis_url
        self.env = {"VILA_KAFKA_BOOTSTRAP": bootstrap, "VILA_REDIS_URL": redis_url}
        self.worker_address = f"127.0.0.1:{free_port()}"
        self.summaries_address = f"127.0.0.1:{free_port()}"
        self.worker = Service("worker-edge", run_dir, "workers",
                              ["--host", "127.0.0.1", "--port", self.worker_address.rsplit(":", 1)[1],
                               "--tier", "edge"], endpoint=self.worker_address, env=self.env)
        self.dispatcher = self.make_dispatcher()
        self.summarizer = Service("summarizer", run_dir, "services.summarizer",
                                  ["--port", self.summaries_address.rsplit(":", 1)[1],
                                   "--group-id", "e2e-summarizer"], endpoint=self.summaries_address,
                                  env=self.env)

    def make_dispatcher(self, *extra: str, name: str = "dispatcher", kill_before_commit_after: int = 0) -> Service:
        """A dispatcher of the test group, patient enough to outlast a worker restart (~75 s of retries).

        ``kill_before_commit_after=N`` runs it through ``tests.support.faulty_dispatcher`` (SIGKILL between
        publishing N results and committing their offsets)."""
        module, first = "services.dispatcher", []
        if kill_before_commit_after:
            module, first = "tests.support.faulty_dispatcher", [str(kill_before_commit_after)]
        return Service(name, self.run_dir, module,
                       [*first, "--edge-workers", self.worker_address, "--cloud-workers", "", "--group-id", "e2e-dispatcher",
                        "--retries", "40", "--retry-backoff-ms", "200", "--retry-backoff-max-ms", "2000",
                        "--request-timeout-s", "30", "--session-timeout-ms", "6000", *extra], env=self.env)

    @property
    def services(self) -> list[Service]:
        return [self.worker, self.summarizer, self.dispatcher]

    def heal(self) -> None:
        """Start whatever is not running (after a fault test)."""
        for service in self.services:
            if not service.running():
                service.start(START_TIMEOUT_S)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    # -- clients ---------------------------------------------------------------------------------
    def ingest(self, *args: str, timeout_s: float = 120.0):
        """``python -m ingest ARGS`` to its end; the CompletedProcess (stderr captured)."""
        import subprocess

        return subprocess.run([sys.executable, "-m", "ingest", "--kafka-bootstrap", self.bootstrap, *args],
                              cwd=ROOT, env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=timeout_s)

    def start_ingest(self, name: str, *args: str) -> Service:
        """``python -m ingest ARGS`` in the background (ready once its ``ready`` line is out)."""
        service = Service(name, self.run_dir, "ingest", ["--kafka-bootstrap", self.bootstrap, *args], env=self.env)
        return service.start(60.0)

    def timeline(self, stream_id: str) -> list:
        """The stream's timeline entries from the summarizer's GetTimeline ([] when it knows nothing yet)."""
        with grpc.insecure_channel(self.summaries_address) as channel:
            stub = summaries_pb2_grpc.SummariesStub(channel)
            try:
                reply = stub.GetTimeline(summaries_pb2.GetTimelineRequest(stream_id=stream_id), timeout=10)
            except grpc.RpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                    return []
                raise
        return list(reply.entries)

    def wait_timeline(self, stream_id: str, window_ids: set[str], timeout_s: float = 120.0) -> list:
        """Waits until the timeline holds at least ``window_ids``; returns its entries."""
        def complete():
            entries = self.timeline(stream_id)
            return entries if window_ids <= {e.window_id for e in entries} else None

        return wait_until(f"{len(window_ids)} windows of {stream_id} in the timeline", complete, timeout_s)

    def window_ids(self, stream_id: str) -> list[str]:
        """Ids of every window record of ``stream_id`` on vila.windows.v1 (one per publish); records that
        are not windows (a poison test's garbage) are not windows produced, so they are left out."""
        ids = []
        for record in read_topic(self.bootstrap, kt.topics.WINDOWS, key=stream_id):
            try:
                ids.append(kt.decode_window(record.value).window_id)
            except UndecodableRecord:
                continue
        return ids


@pytest.fixture(scope="package")  # torn down after the package using it: idle services cost CPU
def _cluster_session(kafka_broker, redis_server, tmp_path_factory) -> Iterator[Cluster]:
    kt.ensure_topics(kafka_broker.bootstrap)
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), kafka_broker.bootstrap, redis_server.url)
    try:
        cluster.heal()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(_cluster_session: Cluster) -> Iterator[Cluster]:
    """The session's cluster, healed after the test (fault tests may leave a service down)."""
    _cluster_session.heal()
    yield _cluster_session
    _cluster_session.heal()
