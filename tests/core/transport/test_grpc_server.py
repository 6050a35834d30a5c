"""core/transport/grpc_server.py: a servicer registered with ``add_servicer`` parses its own requests, so a
request that is not the method's message is INVALID_ARGUMENT naming it (not UNKNOWN) and the server goes on."""
from __future__ import annotations

import asyncio

import grpc
from vila.v1 import summaries_pb2, summaries_pb2_grpc

from core.transport.grpc_server import GrpcServer

SERVICE = summaries_pb2.DESCRIPTOR.services_by_name["Summaries"]


class Echo(summaries_pb2_grpc.SummariesServicer):
    """Answers GetSummary with the stream id asked for; Watch streams it twice."""

    async def GetSummary(self, request, context):
        return _summary(request.stream_id)

    async def Watch(self, request, context):
        for _ in range(2):
            await context.write(summaries_pb2.WatchUpdate())


def _summary(stream_id: str):
    from vila.v1 import results_pb2

    return results_pb2.Summary(stream_id=stream_id)


async def _calls() -> dict[str, object]:
    server = GrpcServer("127.0.0.1:0", [SERVICE.full_name], max_receive_bytes=1 << 20)
    server.add_servicer(Echo(), SERVICE)
    await server.start()
    got = {}
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            summary = channel.unary_unary("/vila.v1.Summaries/GetSummary")
            watch = channel.unary_stream("/vila.v1.Summaries/Watch")
            for name, call in (("bad summary", summary), ("bad watch", None)):
                try:
                    if call is None:
                        [_ async for _ in watch(b"\xff\xff\xff", timeout=10)]
                    else:
                        await call(b"\xff\xff\xff", timeout=10)
                except grpc.aio.AioRpcError as exc:
                    got[name] = (exc.code(), exc.details())
            ok = await summary(summaries_pb2.GetSummaryRequest(stream_id="cam").SerializeToString(), timeout=10)
            got["good summary"] = ok
            got["good watch"] = len([u async for u in watch(b"", timeout=10)])
    finally:
        await server.stop(grace_s=1)
    return got


def test_a_malformed_request_is_invalid_argument_and_the_server_goes_on():
    from vila.v1 import results_pb2

    got = asyncio.run(_calls())
    code, detail = got["bad summary"]
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert detail.startswith("invalid-request: request is not a vila.v1.GetSummaryRequest"), detail
    code, detail = got["bad watch"]
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "vila.v1.WatchRequest" in detail
    assert results_pb2.Summary.FromString(got["good summary"]).stream_id == "cam"
    assert got["good watch"] == 2
