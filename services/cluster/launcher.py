"""The local cluster: Kafka, Redis, one worker per tier, the dispatcher and the summarizer as detached processes.

``up`` starts them in two stages (the backing services, then our deployables, which need Kafka and Redis),
waits until each is healthy, then starts the supervisor (``services/cluster/supervisor.py``: a component that
stops is started again, with backoff) and returns their status; ``status`` probes what the run directory records;
``down`` stops everything in reverse order. Each component leaves ``<name>.log`` and ``<name>.pid`` in the run
directory (``~/.cache/vila-stream/cluster`` by default); Kafka's and Redis's data live there too and survive
``down``/``up``.

Health: Kafka = an admin client lists topics; Redis = PING; workers and summarizer = ``grpc.health.v1`` says
SERVING for their service; the dispatcher (no port) = alive and has printed its ``ready ...`` line.
If a component fails to start, the ones already started are stopped and the error carries its log's tail.
"""
from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.cluster.healthcheck import check as grpc_health
from services.cluster.kafka_broker import KafkaBroker, admin_ready
from services.cluster.paths import default_run_dir
from services.cluster.ports import require_free
from services.cluster.process import ManagedProcess, ProcessRecord, stop_record
from services.cluster.redis_server import RedisServer
from services.cluster.supervisor import NAME as SUPERVISOR
from core.errors import ClusterError

#: Start order; ``down`` goes the other way (the supervisor first, so that nothing it stops comes back).
COMPONENTS = ("kafka", "redis", "worker-edge", "worker-cloud", "dispatcher", "summarizer", SUPERVISOR)
READY_PREFIX = "ready "


@dataclass(frozen=True)
class ClusterConfig:
    """Where and on which loopback ports the local cluster runs (defaults: docs/cluster.md's table)."""

    run_dir: Path = field(default_factory=default_run_dir)
    host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    redis_port: int = 16379
    edge_port: int = 50051
    cloud_port: int = 50052
    summarizer_port: int = 50061
    cloud: bool = True  # False: no cloud worker (the dispatcher gets no cloud addresses)
    model: str = ""  # checkpoint for both workers ("" = the embedded default model)
    timeout_s: float = 300.0  # per stage: model loading and warm-up on a busy CPU take a while
    python: str = sys.executable

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.host}:{self.redis_port}/0"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    endpoint: str
    health: str  # what the probe said: SERVING, PONG, topics listed, ready, down...
    log: str


class ServiceProcess(ManagedProcess):
    """One of the project's Python deployables (``python -m MODULE ...``), probed by its health kind."""

    def __init__(self, name: str, run_dir: Path, module: str, args: list[str], *, config: ClusterConfig,
                 port: int | None, health: str, port_flag: str = "") -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        endpoint = f"{config.host}:{port}" if port else ""
        super().__init__(name, run_dir, [config.python, "-m", module, *args], endpoint=endpoint, env=env)
        self.host, self.port, self.port_flag = config.host, port, port_flag
        self.extra["health"] = health

    def check_ports(self) -> None:
        if self.port:
            require_free(self.name, self.host, self.port, f"pick another with {self.port_flag}" if self.port_flag
                         else "")

    def probe(self) -> bool:
        return self.record is not None and probe_record(self.record)[0]


def plan(config: ClusterConfig) -> list[list[ManagedProcess]]:
    """The processes to start, in stages: each stage starts at once, the next once all of it is healthy."""
    run_dir = config.run_dir
    kafka = KafkaBroker(run_dir, port=config.kafka_port, controller_port=config.kafka_controller_port,
                        host=config.host)
    kafka.extra["health"] = "kafka"
    redis = RedisServer(run_dir, port=config.redis_port, host=config.host, persist=True)
    redis.extra["health"] = "redis"
    model = ["--model", config.model] if config.model else []

    def worker(tier: str, port: int) -> ServiceProcess:
        args = ["--tier", tier, "--host", config.host, "--port", str(port), *model]
        return ServiceProcess(f"worker-{tier}", run_dir, "workers", args, config=config, port=port,
                              health="grpc:vila.v1.Inference", port_flag=f"--{tier}-port")

    services: list[ManagedProcess] = [worker("edge", config.edge_port)]
    if config.cloud:
        services.append(worker("cloud", config.cloud_port))
    cloud_workers = f"{config.host}:{config.cloud_port}" if config.cloud else ""
    services.append(ServiceProcess(
        "dispatcher", run_dir, "services.dispatcher",
        ["--kafka-bootstrap", config.kafka_bootstrap, "--edge-workers", f"{config.host}:{config.edge_port}",
         f"--cloud-workers={cloud_workers}"],
        config=config, port=None, health="ready-line"))
    services.append(ServiceProcess(
        "summarizer", run_dir, "services.summarizer",
        ["--kafka-bootstrap", config.kafka_bootstrap, "--redis-url", config.redis_url,
         "--host", config.host, "--port", str(config.summarizer_port)],
        config=config, port=config.summarizer_port, health="grpc:vila.v1.Summaries", port_flag="--summarizer-port"))
    watched = [p.name for p in (kafka, redis, *services)]
    supervisor = ServiceProcess(SUPERVISOR, run_dir, "services.cluster.supervisor",
                                ["--run-dir", str(run_dir), "--components", ",".join(watched)],
                                config=config, port=None, health="ready-line")
    return [[kafka, redis], services, [supervisor]]


def stop_command(run_dir: Path) -> str:
    """The command that stops the cluster in ``run_dir``: ``--run-dir`` only when it is not the default."""
    if Path(run_dir).expanduser().resolve() == default_run_dir().expanduser().resolve():
        return "vila-stream cluster down"
    return f"vila-stream cluster down --run-dir {shlex.quote(str(run_dir))}"


def up(config: ClusterConfig) -> tuple[list[ComponentStatus], bool]:
    """Start the cluster and wait until every component is healthy.

    Returns (statuses, started): ``started`` is False when the whole cluster was already running (nothing done).
    ClusterError when part of it is running already, a port is taken, or a component fails (the others are
    stopped; the message has the failing component's log tail). MissingDependency when Java, the Kafka jars or
    redis-server are missing.
    """
    config.run_dir.mkdir(parents=True, exist_ok=True)
    live = [record.name for record in _records(config.run_dir) if record.alive()]
    stages = plan(config)
    wanted = [process.name for stage in stages for process in stage]
    if live:
        if sorted(live) == sorted(wanted):
            return status(config.run_dir), False
        raise ClusterError(f"the cluster in {config.run_dir} is partly running, or with other options "
                           f"(running: {', '.join(live)}): run `{stop_command(config.run_dir)}` first")
    _clear_stale(config.run_dir)
    every = [process for stage in stages for process in stage]
    for process in every:  # every port is checked before anything is written or started
        process.check_ports()
    for process in every:
        process.prepare()
    started: list[ManagedProcess] = []
    try:
        for stage in stages:
            for process in stage:
                process.spawn()
                started.append(process)
            for process in stage:
                process.wait_ready(config.timeout_s)
    except BaseException:
        for process in reversed(started):
            process.stop()
        raise
    return status(config.run_dir), True


def status(run_dir: Path | None = None) -> list[ComponentStatus]:
    """Every component the run directory knows of, in start order, probed now."""
    run_dir = run_dir or default_run_dir()
    statuses = []
    for record in _records(run_dir):
        alive = record.alive()
        healthy, said = probe_record(record) if alive else (False, "down")
        statuses.append(ComponentStatus(record.name, alive, healthy, record.pid if alive else None,
                                        record.endpoint, said, record.log))
    return statuses


def down(run_dir: Path | None = None, timeout: float = 30.0) -> list[str]:
    """Stop every recorded component, last started first; returns the names of those that were running."""
    run_dir = run_dir or default_run_dir()
    stopped = []
    for record in reversed(_records(run_dir)):
        if record.alive():
            stop_record(record, timeout)
            stopped.append(record.name)
        (run_dir / f"{record.name}.pid").unlink(missing_ok=True)
    return stopped


def probe_record(record: ProcessRecord) -> tuple[bool, str]:
    """(healthy, what the probe said) for a running component, by the health kind its pid file records."""
    kind = record.extra.get("health", "")
    try:
        if kind == "kafka":
            return admin_ready(record.endpoint, timeout_ms=2000), "topics listed"
        if kind == "redis":
            import redis

            host, port = record.endpoint.rsplit(":", 1)
            with redis.Redis(host=host, port=int(port), socket_timeout=1, socket_connect_timeout=1) as conn:
                return bool(conn.ping()), "PONG"
        if kind.startswith("grpc:"):
            said = grpc_health(record.endpoint, kind.removeprefix("grpc:"), timeout=2.0)
            return said == "SERVING", said
        if kind == "ready-line":
            ready = _printed_ready(Path(record.log), int(record.extra.get("log_offset", 0)))
            return ready, "ready" if ready else "starting"
    except Exception as exc:  # a probe that cannot connect: unhealthy, and say why
        return False, f"unreachable ({type(exc).__name__})"
    return False, f"unknown health kind {kind!r}"


def _printed_ready(log: Path, offset: int) -> bool:
    """True when the process's output since ``offset`` has a line starting with ``ready `` (the contract)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            return any(line.startswith(READY_PREFIX.encode()) for line in handle)
    except OSError:
        return False


def _records(run_dir: Path) -> list[ProcessRecord]:
    found = {name: ProcessRecord.load(run_dir / f"{name}.pid") for name in COMPONENTS}
    return [record for record in found.values() if record is not None]


def _clear_stale(run_dir: Path) -> None:
    for name in COMPONENTS:
        record = ProcessRecord.load(run_dir / f"{name}.pid")
        if record is not None and not record.alive():
            (run_dir / f"{name}.pid").unlink()
