"""Worker pools: gRPC channels to the workers of each tier, load spread by in-flight requests.

``WorkerPool.caption(tier, window)`` sends one window to the worker of ``tier`` with the fewest
requests in flight (ties: the least recently picked), retrying retryable failures with backoff on
whichever worker is then least loaded (``retryable`` is the reported error type's own: see
``core.errors.from_remote``). A worker that just failed with UNAVAILABLE is avoided for a short
cool-down while another is available. Raises ``WorkerCallFailed`` with the last worker's error.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import grpc
from vila.v1 import inference_pb2, inference_pb2_grpc

from core.convert import result_from_pb, window_to_pb
from core.errors import WorkerCallFailed
from core.transport.grpc_errors import from_rpc_error
from core.types import FrameWindow, WindowResult
from services.dispatcher.retry import RetryPolicy

log = logging.getLogger("vila.dispatcher.pool")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
COOL_DOWN_S = 1.0


@dataclass
class Endpoint:
    address: str
    channel: grpc.aio.Channel
    stub: inference_pb2_grpc.InferenceStub
    in_flight: int = 0
    picked: int = 0
    cool_until: float = 0.0


@dataclass
class WorkerPool:
    """Channels per tier; see the module docstring."""

    workers: dict[str, Sequence[str]]
    labels: Sequence[str]
    policy: RetryPolicy
    timeout_s: float
    _endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)
    _ticks: itertools.count = field(default_factory=itertools.count)

    def open(self) -> None:
        options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        for tier, addresses in self.workers.items():
            self._endpoints[tier] = []
            for address in addresses:
                channel = grpc.aio.insecure_channel(address, options=options)
                self._endpoints[tier].append(Endpoint(address, channel, inference_pb2_grpc.InferenceStub(channel)))

    async def close(self) -> None:
        for endpoints in self._endpoints.values():
            for endpoint in endpoints:
                await endpoint.channel.close()

    def pick(self, tier: str) -> Endpoint:
        """The least-loaded endpoint of ``tier``, preferring those not cooling down."""
        now = time.monotonic()
        return min(self._endpoints[tier], key=lambda e: (e.cool_until > now, e.in_flight, e.picked))

    async def caption(self, tier: str, window: FrameWindow) -> WindowResult:
        request = inference_pb2.CaptionRequest(window=window_to_pb(window), labels=list(self.labels))
        attempt = 0
        while True:
            endpoint = self.pick(tier)
            endpoint.in_flight += 1
            endpoint.picked = next(self._ticks)
            try:
                reply = await endpoint.stub.Caption(request, timeout=self.timeout_s)
                return result_from_pb(reply)
            except grpc.aio.AioRpcError as exc:
                error = from_rpc_error(exc)
                if exc.code() == grpc.StatusCode.UNAVAILABLE:
                    endpoint.cool_until = time.monotonic() + COOL_DOWN_S
                if not error.retryable or attempt >= self.policy.retries:
                    raise WorkerCallFailed(error, attempt + 1, endpoint.address) from None
                delay = self.policy.delay(attempt)
                log.info("window %s: %s from %s (%s); retry %d in %.2f s", window.window_id, exc.code().name,
                         endpoint.address, error, attempt + 1, delay)
            finally:
                endpoint.in_flight -= 1
            attempt += 1
            await asyncio.sleep(delay)
