"""The one error map: every error type, through every RPC of every servicer, over a real loopback server.

The servicers' collaborators (the worker's engine, the summarizer's reader) are replaced by an object that
raises the error under test on first use, so each RPC's handler meets exactly that error; the client sees
the status code the type declares and ``describe(error)`` as the detail, and the server keeps serving.
"""
from __future__ import annotations

import asyncio

import grpc
import pytest
import redis
from vila.v1 import inference_pb2, inference_pb2_grpc, media_pb2, summaries_pb2, summaries_pb2_grpc

from core.errors import InvalidRequest, VilaError, WorkerCallFailed, describe, error_types, from_remote
from core.transport.grpc_errors import status_of
from core.transport.grpc_server import GrpcServer
from services.summarizer.servicer import SummariesServicer
from workers.server.servicer import InferenceServicer


def instance(cls: type[VilaError]) -> VilaError:
    if cls is WorkerCallFailed:
        return WorkerCallFailed(InvalidRequest("frame 0 is not a decodable JPEG"), 2, "127.0.0.1:1")
    return cls("something specific went wrong")


ERRORS = [instance(cls) for cls in error_types()] + [RuntimeError("a bug"), redis.ConnectionError("refused")]


def expected(error: BaseException) -> tuple[grpc.StatusCode, str]:
    if isinstance(error, redis.RedisError):
        return grpc.StatusCode.UNAVAILABLE, f"unavailable: Redis is unavailable: {error}"
    if isinstance(error, VilaError):
        return getattr(grpc.StatusCode, error.grpc_code), describe(error)
    return grpc.StatusCode.INTERNAL, f"internal: {type(error).__name__}: {error}"


class Raising:
    """Raises ``error`` on any attribute: the first thing a handler asks of it."""

    def __init__(self) -> None:
        self.error: BaseException = RuntimeError("unset")

    def __getattr__(self, name):
        raise self.error


#: A window the servicer passes on to the engine (one frame, a span), for the requests that carry one.
WINDOW = media_pb2.FrameWindow(stream_id="cam", window_id="cam:0", start=0.0, end=1.0, frames=[media_pb2.Frame()])


def rpcs(module, service: str, stub):
    """(name, call) for every method of ``service``: a request that reaches the engine or the reader (empty,
    or with ``WINDOW``), the answer read to its end."""
    methods = module.DESCRIPTOR.services_by_name[service].methods
    for method in methods:
        request = getattr(module, method.input_type.name)()
        if "window" in request.DESCRIPTOR.fields_by_name:
            request.window.CopyFrom(WINDOW)
        call = getattr(stub, method.name)
        if method.server_streaming:
            yield method.name, (lambda c=call, r=request: _drain(c(r, timeout=10)))
        else:
            yield method.name, (lambda c=call, r=request: c(r, timeout=10))


async def _drain(stream):
    return [update async for update in stream]


def test_every_status_code_is_a_grpc_status():
    for cls in error_types():
        assert hasattr(grpc.StatusCode, cls.grpc_code), cls
        assert cls.reason and cls.reason == cls.reason.lower() and " " not in cls.reason, cls


def test_remote_errors_come_back_as_their_type():
    for error in ERRORS[:-2]:
        code, detail = status_of(error)
        back = from_remote(code.name, detail)
        assert (back.reason, back.retryable, back.grpc_code) == (error.reason, error.retryable, error.grpc_code)


def test_every_error_through_every_rpc_of_every_servicer():
    asyncio.run(_every_error_through_every_rpc())


async def _every_error_through_every_rpc():
    engine, reader = Raising(), Raising()
    inference = InferenceServicer(max_message_bytes=1 << 20)
    inference.attach(engine)
    summaries = SummariesServicer(reader)
    server = GrpcServer("127.0.0.1:0", ["vila.v1.Inference", "vila.v1.Summaries"], max_receive_bytes=4 << 20)
    server.add_servicer(inference, inference_pb2.DESCRIPTOR.services_by_name["Inference"])
    server.add_servicer(summaries, summaries_pb2.DESCRIPTOR.services_by_name["Summaries"])
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            calls = [*rpcs(inference_pb2, "Inference", inference_pb2_grpc.InferenceStub(channel)),
                     *rpcs(summaries_pb2, "Summaries", summaries_pb2_grpc.SummariesStub(channel))]
            assert len(calls) >= 9
            checked = 0
            for error in ERRORS:
                engine.error = reader.error = error
                for name, call in calls:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await call()
                    assert (caught.value.code(), caught.value.details()) == expected(error), (name, error)
                    checked += 1
            assert checked == len(ERRORS) * len(calls)
    finally:
        await server.stop(grace_s=1)
