"""Test helpers: a real worker (real gRPC on a loopback port, real tiny model) run in-process, and requests.

``InProcessWorker`` runs ``WorkerApp`` on its own event loop in a background thread, so a test talks to
it with an ordinary blocking gRPC client over the socket while still seeing the worker's counters.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import grpc
from vila.v1 import inference_pb2, inference_pb2_grpc

from core.convert import window_to_pb
from core.types import Frame, FrameWindow
from tests.support.model_fixtures import jpeg_bytes, scene_frames
from workers.server.app import WorkerApp
from workers.server.settings import WorkerSettings


class InProcessWorker:
    """A ``WorkerApp`` on a background event loop. ``call(coro)`` runs a coroutine there and waits for it."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.app = WorkerApp(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="worker-loop", daemon=True)
        self.thread.start()
        self.channel: grpc.Channel | None = None

    def call(self, coro, timeout: float = 120.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self) -> inference_pb2_grpc.InferenceStub:
        self.channel = grpc.insecure_channel(self.app.target, options=[
            ("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)])
        return inference_pb2_grpc.InferenceStub(self.channel)

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        self.call(self.app.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def worker_settings(model_dir: Path, **overrides) -> WorkerSettings:
    """Settings for a test worker on a free loopback port with the tiny model."""
    return replace(WorkerSettings(port=0, model=str(model_dir), tier="edge"), **overrides)


def frame_window(seq: int = 0, count: int = 6, *, stream: str = "cam") -> FrameWindow:
    frames = tuple(Frame(jpeg=jpeg_bytes(image), pts=seq * 2.0 + i * 0.25, width=image.width, height=image.height)
                   for i, image in enumerate(scene_frames(count, seed=seq)))
    return FrameWindow(stream_id=stream, window_id=f"{stream}:{seq}", seq=seq, start=seq * 2.0,
                       end=seq * 2.0 + 2.0, frames=frames, activity=0.25)


def caption_request(seq: int = 0, **fields) -> inference_pb2.CaptionRequest:
    return inference_pb2.CaptionRequest(window=window_to_pb(frame_window(seq)), **fields)


def batch_size(call) -> int:
    """The ``vila-batch-size`` trailing metadata of a finished call (a future or a with_call result)."""
    return int(dict(call.trailing_metadata())["vila-batch-size"])
