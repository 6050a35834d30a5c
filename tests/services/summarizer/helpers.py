"""Shared by the summarizer and timeline CLI tests: results to write, a Summaries server on loopback."""
from __future__ import annotations

import asyncio
import threading
import uuid

import redis.asyncio as aioredis
from vila.v1 import summaries_pb2

from core.ids import window_id
from core.types import ActionScore, WindowResult
from services.summarizer.reader import SummaryReader
from services.summarizer.servicer import SummariesServicer
from core.transport.grpc_server import GrpcServer

CAPTIONS = ("a person walks across the street", "a car drives by", "the street is empty")


def new_stream_id(prefix: str = "cam") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def result(stream_id: str, i: int, *, caption: str | None = None, error: str = "", tier: str = "edge",
           seconds: float = 2.0) -> WindowResult:
    """Window ``i`` of a stream of ``seconds``-long windows, as the dispatcher would publish it."""
    start = i * seconds
    return WindowResult(
        stream_id=stream_id, window_id=window_id(stream_id, start), seq=i, start=start, end=start + seconds,
        caption="" if error else (caption if caption is not None else CAPTIONS[(i // 3) % len(CAPTIONS)]),
        actions=() if error else (ActionScore("walking", 0.6 - 0.01 * (i % 5)), ActionScore("driving", 0.3),
                                  ActionScore("standing", 0.1), ActionScore("running", 0.05)),
        activity=0.2, tier=tier, model_id="tiny-random-v1", latency_ms=12.0, error=error,
    )


class SummariesServerThread:
    """The real ``SummariesServicer`` on a loopback port, served from a background event loop."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.target = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = aioredis.Redis.from_url(self.redis_url)
        servicer = SummariesServicer(SummaryReader(client), watch_block_ms=200)
        server = GrpcServer("127.0.0.1:0", ["vila.v1.Summaries"], max_receive_bytes=4 << 20)
        server.add_servicer(servicer, summaries_pb2.DESCRIPTOR.services_by_name["Summaries"])
        await server.start()
        await server.set_serving()
        self.target = server.target
        self._ready.set()
        await self._stop.wait()
        servicer.stopping.set()
        await server.stop(grace_s=2)
        await client.aclose()

    def __enter__(self) -> "SummariesServerThread":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the Summaries server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
