"""A single-node Apache Kafka broker (KRaft: one process is broker and controller) on the local JVM.

The jars come from Maven Central (``make install`` copies them into ``~/.cache/vila-stream/kafka-<version>/libs``,
see services/cluster/pom.xml). Start-up writes ``server.properties`` and a Log4j 2 configuration into the run
directory, formats the log directory once (``kafka.tools.StorageTool``, what ``kafka-storage.sh format`` runs)
and starts ``kafka.Kafka``. Ready means a Kafka admin client can list the topics.

Data survive a stop: a restart reuses the formatted log directory, so offsets and records are kept.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from services.cluster.paths import kafka_home
from services.cluster.ports import can_connect, require_free
from services.cluster.process import ManagedProcess
from core.errors import ClusterError, MissingDependency

KAFKA_VERSION = "4.4.0"  # = kafka.version in services/cluster/pom.xml
MIN_JAVA = 17  # Kafka 4.x servers
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # frame windows are several MB; clients send up to 16 MiB
# C1-only JIT and a small heap: the broker starts in about 3 s on two cores, and a local broker is never the
# bottleneck next to a vision-language model.
DEFAULT_JVM_OPTS = ("-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-XX:-UsePerfData", "-Djava.awt.headless=true")

_LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# Every client and server prints its whole configuration at INFO: hundreds of lines that hide the log's tail.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""


def find_java() -> str:
    """Path of a ``java`` of version 17 or newer. MissingDependency naming what was found otherwise."""
    java = shutil.which("java")
    if java is None:
        raise MissingDependency(f"java not found: Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+ "
                                "(run make install, or apt-get install openjdk-17-jre-headless)")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingDependency(f"{java} -version failed: {exc}") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        first = out.strip().splitlines()[0] if out.strip() else "unknown version"
        raise MissingDependency(f"Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, {java} is: {first}")
    return java


def find_kafka_libs(version: str = KAFKA_VERSION, home: Path | None = None) -> Path:
    """The ``libs`` folder of Kafka ``version``; MissingDependency with the fix when the jars are not there."""
    libs = (home or kafka_home(version)) / "libs"
    if not any(libs.glob(f"kafka_2.13-{version}.jar")):
        raise MissingDependency(f"Kafka {version} jars not found in {libs}: run make install "
                                "(it copies them from Maven Central)")
    return libs


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as ``kafka-storage random-uuid``.

    Like Kafka's own ``Uuid.randomUuid`` it never starts with "-": kafka-storage's argument parser would
    read such an id as an option and refuse to format (1 start in 64 failed that way).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def broker_properties(host: str, port: int, controller_port: int, data_dir: Path | str,
                      partitions: int = 4) -> dict[str, str]:
    """A single-node KRaft broker's configuration: replication 1 everywhere, room for large windows.

    docker-compose.yml configures its broker the same way (tests/compose checks it).
    """
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "false",  # services create theirs (ensure_topics): a typo is an error
        # One broker: every internal topic has one replica. Few partitions: they are created at first use.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",  # a consumer group forms at once, not after 3 s
        "message.max.bytes": str(MAX_MESSAGE_BYTES),
        "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        "num.network.threads": "2",
        "num.io.threads": "4",
    }


class KafkaBroker(ManagedProcess):
    """One KRaft broker+controller on ``host:port`` (controller on ``controller_port``), data in ``run_dir``.

    ``bootstrap`` is what clients pass as ``bootstrap_servers``. Raises MissingDependency at construction when
    Java or the jars are missing, ClusterError at start when a port is busy or the broker does not come up.
    """

    stop_timeout = 30.0  # a controlled shutdown flushes the logs: give it time before SIGKILL

    def __init__(self, run_dir: Path | str, *, port: int, controller_port: int, host: str = "127.0.0.1",
                 name: str = "kafka", libs: Path | None = None, partitions: int = 4,
                 jvm_opts: tuple[str, ...] = DEFAULT_JVM_OPTS, die_with_parent: bool = False) -> None:
        self.host, self.port, self.controller_port = host, port, controller_port
        self.partitions = partitions
        self.libs = libs or find_kafka_libs()
        self.java = find_java()
        super().__init__(name, run_dir, endpoint=f"{host}:{port}", die_with_parent=die_with_parent)
        self.data_dir = self.run_dir / f"{name}-data"
        self.config_path = self.run_dir / f"{name}.properties"
        self.log4j_path = self.run_dir / f"{name}-log4j2.properties"
        self.argv = [self.java, *jvm_opts, f"-Dlog4j2.configurationFile={self.log4j_path}",
                     "-cp", f"{self.libs}/*", "kafka.Kafka", str(self.config_path)]

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def server_properties(self) -> dict[str, str]:
        return broker_properties(self.host, self.port, self.controller_port, self.data_dir, self.partitions)

    def check_ports(self) -> None:
        require_free(self.name, self.host, self.port, "another Kafka? pick another port")
        require_free(f"{self.name} controller", self.host, self.controller_port, "pick another controller port")

    def prepare(self) -> None:
        self.check_ports()
        props = "".join(f"{key}={value}\n" for key, value in self.server_properties().items())
        self.config_path.write_text(props)
        self.log4j_path.write_text(_LOG4J2)
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage()

    def _format_storage(self) -> None:
        argv = [self.java, "-Xmx256m", "-XX:TieredStopAtLevel=1", f"-Dlog4j2.configurationFile={self.log4j_path}",
                "-cp", f"{self.libs}/*", "kafka.tools.StorageTool", "format",
                "-t", new_cluster_id(), "-c", str(self.config_path)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"{self.name}: formatting {self.data_dir} took more than 120 s") from None
        with open(self.log_path, "a") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise ClusterError(f"{self.name}: formatting {self.data_dir} failed (exit {done.returncode}):\n{tail}")

    def probe(self) -> bool:
        if not can_connect(self.host, self.port):
            return False
        return admin_ready(self.bootstrap)


def admin_ready(bootstrap: str, timeout_ms: int = 3000) -> bool:
    """True when a Kafka admin client at ``bootstrap`` can list topics (the broker serves metadata)."""
    from core.transport.kafka_probe import OK, group_state  # imported here: only probes need it

    return group_state(bootstrap, timeout_s=timeout_ms / 1000, client_id="vila-cluster-probe") == OK
