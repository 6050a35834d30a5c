"""docker-compose.yml is valid, and every module, variable and port it names exists in the code.

No Docker engine runs on these machines: Debian's docker-compose validates the file without one (``config -q``);
the rest is checked against the real settings classes, health-check parser, CLI parser and the local Kafka
broker's configuration, so that the file cannot drift from the code.
"""
from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.cli.main import build_parser
from services.cluster import healthcheck
from services.cluster.kafka_broker import KAFKA_VERSION, broker_properties
from core.settings import env_names, from_args

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# python -m MODULE -> (settings module, class name); each settings module has its PREFIX.
SETTINGS = {
    "workers": ("workers.server.settings", "WorkerSettings"),
    "services.dispatcher": ("services.dispatcher.settings", "DispatcherSettings"),
    "services.summarizer": ("services.summarizer.settings", "SummarizerSettings"),
    "ingest": ("ingest.service.settings", "IngestSettings"),
}
GRPC_SERVICE = {"workers": "vila.v1.Inference", "services.summarizer": "vila.v1.Summaries"}
# Broker properties that differ between a container and the local broker by nature (addresses, paths).
KAFKA_PLACE_PROPS = {"listeners", "advertised.listeners", "listener.security.protocol.map",
                     "controller.quorum.voters", "log.dirs", "num.network.threads", "num.io.threads"}


def _compose(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (make test installs it)")
    return subprocess.run([exe, "-f", str(COMPOSE), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def config() -> dict:
    proc = _compose("config")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


@pytest.fixture(scope="module")
def services(config) -> dict:
    return config["services"]


def _module(service: dict) -> str | None:
    entry = service.get("entrypoint") or []
    if entry[:2] == ["python", "-m"] and len(entry) == 3:
        return entry[2]
    return None


def _settings(service: dict):
    """(settings instance, env names of its fields) for a service of ours, from its environment alone."""
    module_name, class_name = SETTINGS[_module(service)]
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name)
    env = {key: str(value) for key, value in (service.get("environment") or {}).items()}
    return from_args(cls, None, module.PREFIX, environ=env), set(env_names(cls, module.PREFIX).values())


def _ours(services: dict) -> dict:
    return {name: s for name, s in services.items() if _module(s) is not None}


def _container_ports(service: dict) -> set[int]:
    return {int(str(p).split(":")[-1].split("/")[0]) for p in service.get("ports", [])}


def _listen_ports(name: str, service: dict) -> set[int]:
    """Ports a service listens on inside the network."""
    if _module(service) in SETTINGS:
        settings, _ = _settings(service)
        return {settings.port} if hasattr(settings, "port") else set()
    if name == "kafka":
        listeners = service["environment"]["KAFKA_LISTENERS"].split(",")
        return {int(listener.rsplit(":", 1)[1]) for listener in listeners}
    if name == "redis":
        return {6379}
    return set()


def test_config_is_valid():
    proc = _compose("config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_the_cluster_is_all_there(services):
    assert {"kafka", "redis", "ingest", "dispatcher", "worker-edge", "worker-cloud", "summarizer"} <= set(services)
    assert services["worker-cloud"]["profiles"] == ["gpu"]
    devices = services["worker-cloud"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices and "gpu" in devices[0]["capabilities"]


def test_every_module_exists_and_is_runnable(services):
    ours = _ours(services)
    assert set(SETTINGS) == {_module(s) for s in ours.values()}, "a deployable is missing from the compose file"
    for name, service in ours.items():
        module = _module(service)
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{name}: {module} has no __main__"


def test_every_variable_is_a_setting_and_parses(services):
    for name, service in _ours(services).items():
        settings, known = _settings(service)  # from_args raises InvalidInput on a value that does not parse
        unknown = set(service.get("environment") or {}) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not fields of {type(settings).__name__}"


def test_every_published_port_is_the_service_port(services):
    for name, service in services.items():
        published = _container_ports(service)
        assert published <= _listen_ports(name, service), f"{name}: publishes {published}"
    for name, service in _ours(services).items():
        settings, _ = _settings(service)
        if hasattr(settings, "port"):
            assert settings.host == "0.0.0.0", f"{name}: listen on all interfaces inside the container"


def test_every_address_points_at_a_listening_service(services):
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            for address in str(value).replace("redis://", "").split(","):
                host, _, rest = address.partition(":")
                if host in services and rest:
                    port = int(rest.split("/")[0])
                    assert port in _listen_ports(host, services[host]), f"{name}: {key}={value}: nothing on {port}"


def test_every_service_has_a_health_check_that_matches_it(services):
    for name, service in services.items():
        if "jobs" in service.get("profiles", []):
            continue  # one-shot commands
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name}: no health check"
        module = _module(service)
        if module is None:
            continue
        assert test[:4] == ["CMD", "python", "-m", "services.cluster.healthcheck"], name
        args = healthcheck.parse_args(test[4:])  # the command's own parser: exits on a bad flag
        settings, _ = _settings(service)
        if args.address:
            host, port = args.address.rsplit(":", 1)
            assert int(port) == settings.port, f"{name}: health check asks port {port}"
            assert args.service == GRPC_SERVICE[module], f"{name}: health check asks {args.service!r}"
        else:
            assert args.kafka == settings.kafka_bootstrap, f"{name}: health check asks Kafka {args.kafka}"
            if args.group:
                assert args.group == settings.group_id, f"{name}: health check asks group {args.group}"


def test_kafka_is_configured_like_the_local_broker(services):
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = kafka["environment"]
    props = {key.removeprefix("KAFKA_").lower().replace("_", "."): str(value)
             for key, value in env.items() if key.startswith("KAFKA_")}
    local = broker_properties("127.0.0.1", 19092, 19093, "/unused")
    for key, value in local.items():
        if key not in KAFKA_PLACE_PROPS:
            assert props.get(key) == value, f"KAFKA_{key.upper().replace('.', '_')}: {props.get(key)} != {value}"
    external = next(a for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",") if a.startswith("EXTERNAL://"))
    assert external.endswith(":19092") and "127.0.0.1:19092:19092/tcp" in kafka["ports"]


def test_analyze_job_command_parses(services):
    parser = build_parser()
    args = parser.parse_args(services["analyze"]["command"])  # exits (fails the test) on an unknown flag
    assert callable(args.func)


def test_streams_file_loads():
    from ingest.config import IngestConfig
    from ingest.service.streams import load_streams_file

    specs = load_streams_file(ROOT / "compose" / "streams.toml", IngestConfig())
    assert [spec.stream_id for spec in specs] == ["clip"]


def test_dockerfile_paths_exist(config):
    for name, service in config["services"].items():
        build = service.get("build")
        if build:
            dockerfile = Path(build["context"]) / build["dockerfile"]
            assert dockerfile.exists(), f"{name}: {dockerfile} missing"
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (ROOT / src).exists(), f"{dockerfile}: COPY {src} does not exist"
