"""The gRPC health probe against a real gRPC server on loopback (the launcher and compose health checks use it)."""
from __future__ import annotations

from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.cluster import free_port
from services.cluster.healthcheck import UNREACHABLE, check, main


@pytest.fixture()
def health_server():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("vila.v1.Inference", health_pb2.HealthCheckResponse.NOT_SERVING)
    yield f"127.0.0.1:{port}", servicer
    server.stop(grace=None)


def test_statuses(health_server):
    address, servicer = health_server
    assert check(address) == "SERVING"
    assert check(address, "vila.v1.Inference") == "NOT_SERVING"
    assert check(address, "vila.v1.Nothing") == "SERVICE_UNKNOWN"
    servicer.set("vila.v1.Inference", health_pb2.HealthCheckResponse.SERVING)
    assert check(address, "vila.v1.Inference") == "SERVING"


def test_nothing_listening_is_unreachable():
    assert check(f"127.0.0.1:{free_port()}", timeout=1.0) == UNREACHABLE


def test_command_exit_code(health_server, capsys):
    address, _ = health_server
    assert main([address]) == 0
    assert main([address, "--service", "vila.v1.Inference"]) == 1
    assert "NOT_SERVING" in capsys.readouterr().out


def test_kafka_group_health_follows_its_members(kafka_broker):
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.admin import NewTopic

    from services.cluster.healthcheck import check_kafka

    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    admin.create_topics([NewTopic("health-topic", 1, 1)])
    admin.close()
    assert check_kafka(kafka_broker.bootstrap) == "OK"
    assert check_kafka(kafka_broker.bootstrap, "health-group") == "NO_MEMBERS"
    consumer = KafkaConsumer("health-topic", bootstrap_servers=kafka_broker.bootstrap, group_id="health-group")
    try:
        for _ in range(150):
            if consumer.assignment():
                break
            consumer.poll(200)
        assert main(["--kafka", kafka_broker.bootstrap, "--group", "health-group"]) == 0
    finally:
        consumer.close()
    assert check_kafka(kafka_broker.bootstrap, "health-group") == "NO_MEMBERS"


def test_kafka_nobody_listening_is_unreachable():
    from services.cluster.healthcheck import check_kafka

    assert check_kafka(f"127.0.0.1:{free_port()}", timeout=1.0) == UNREACHABLE
