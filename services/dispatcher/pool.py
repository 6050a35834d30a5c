"""Worker pools: gRPC channels to the workers of each tier, load spread by in-flight requests.

``WorkerPool.caption(tier, window)`` sends one window to the worker of ``tier`` with the fewest
requests in flight (ties: the least recently picked), retrying retryable failures with backoff on
whichever worker is then least loaded (``retryable`` is the reported error type's own: see
``core.errors.from_remote``). A worker that just failed with UNAVAILABLE is avoided for a short
cool-down while another is available. Raises ``WorkerCallFailed`` with the last worker's error.

A worker that stops answering its health probes is ejected (``ejection``): not picked, and the calls it
holds are cancelled and tried again elsewhere, uncounted; it is put back when it answers SERVING again.

A worker that is not there or not ready is waited for, however long, and never costs a try: a call is made
only on a connected channel (``reachable``), and an ``Unavailable`` answer (still loading, shutting down)
waits with backoff uncounted. So no window is dead-lettered because a worker was not up yet (``cluster up``
with a backlog); it waits, logged once, and the dispatcher takes no more records meanwhile.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from vila.v1 import inference_pb2, inference_pb2_grpc

from core.convert import result_from_pb, window_to_pb
from core.errors import Unavailable, WorkerCallFailed
from core.transport.grpc_errors import from_rpc_error
from core.types import FrameWindow, WindowResult
from services.dispatcher.ejection import PROBE_EVERY_S, PROBE_TIMEOUT_S, HealthRecord
from services.dispatcher.retry import RetryPolicy

log = logging.getLogger("vila.dispatcher.pool")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
COOL_DOWN_S = 1.0
#: gRPC's reconnect backoff, so that a worker that comes back is found within seconds (gRPC's own grows to 120 s).
RECONNECT_BACKOFF_MS = (250, 2000)


@dataclass
class Endpoint:
    address: str
    channel: grpc.aio.Channel
    stub: inference_pb2_grpc.InferenceStub
    in_flight: int = 0
    picked: int = 0
    cool_until: float = 0.0
    health: HealthRecord = field(default_factory=HealthRecord)
    ejected: asyncio.Event = field(default_factory=asyncio.Event)  # set while ejected


@dataclass
class WorkerPool:
    """Channels per tier; see the module docstring."""

    workers: dict[str, Sequence[str]]
    labels: Sequence[str]
    policy: RetryPolicy
    timeout_s: float
    _endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)
    _ticks: itertools.count = field(default_factory=itertools.count)
    waiting: int = 0  # windows waiting now for a reachable worker
    _probes: list[asyncio.Task] = field(default_factory=list)

    def open(self) -> None:
        options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
                   ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
                   ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[1])]
        for tier, addresses in self.workers.items():
            self._endpoints[tier] = []
            for address in addresses:
                channel = grpc.aio.insecure_channel(address, options=options)
                endpoint = Endpoint(address, channel, inference_pb2_grpc.InferenceStub(channel))
                self._endpoints[tier].append(endpoint)
                self._probes.append(asyncio.get_running_loop().create_task(self._probe(endpoint)))

    def ejected(self) -> list[str]:
        """Addresses of the workers taken out of the pool now."""
        return [e.address for endpoints in self._endpoints.values() for e in endpoints if e.ejected.is_set()]

    async def _probe(self, endpoint: Endpoint) -> None:
        health = health_pb2_grpc.HealthStub(endpoint.channel)
        request = health_pb2.HealthCheckRequest(service="vila.v1.Inference")
        while True:
            try:
                reply = await health.Check(request, timeout=PROBE_TIMEOUT_S)
                serving = reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.aio.AioRpcError:
                serving = False
            change = endpoint.health.observe(serving)
            if change == "ejected":
                endpoint.ejected.set()
                log.warning("worker %s stopped answering (%d health probes in a row); taken out of the pool, "
                            "%d call(s) it held go elsewhere", endpoint.address, endpoint.health.misses,
                            endpoint.in_flight)
            elif change == "restored":
                endpoint.ejected.clear()
                log.warning("worker %s answers again; back in the pool", endpoint.address)
            await asyncio.sleep(PROBE_EVERY_S)  # the probe's period

    async def close(self) -> None:
        for probe in self._probes:
            probe.cancel()
        for endpoints in self._endpoints.values():
            for endpoint in endpoints:
                await endpoint.channel.close()

    def pick(self, tier: str, among: Sequence[Endpoint] | None = None) -> Endpoint:
        """The least-loaded endpoint of ``tier`` (or of ``among``), preferring those not cooling down."""
        now = time.monotonic()
        return min(among or self._endpoints[tier], key=lambda e: (e.cool_until > now, e.in_flight, e.picked))

    async def reachable(self, tier: str, window: FrameWindow) -> list[Endpoint]:
        """The endpoints of ``tier`` with a connected channel; waits, however long, while there is none."""
        endpoints = self._endpoints[tier]
        announced = False
        while True:
            states = [e.channel.get_state(try_to_connect=True) for e in endpoints]
            ready = [e for e, state in zip(endpoints, states)
                     if state == grpc.ChannelConnectivity.READY and not e.ejected.is_set()]
            if ready:
                if announced:
                    log.info("window %s: a %s worker is reachable again", window.window_id, tier)
                return ready
            if not announced:
                announced = True
                log.warning("window %s waits: no %s worker is reachable (%s)", window.window_id, tier,
                            ", ".join(e.address for e in endpoints))
            self.waiting += 1
            changes = [asyncio.ensure_future(e.channel.wait_for_state_change(state))
                       for e, state in zip(endpoints, states)]
            try:
                await asyncio.wait(changes, timeout=RECONNECT_BACKOFF_MS[1] / 1000,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.waiting -= 1
                for change in changes:
                    change.cancel()

    async def caption(self, tier: str, window: FrameWindow) -> WindowResult:
        request = inference_pb2.CaptionRequest(window=window_to_pb(window), labels=list(self.labels))
        attempt = waits = 0  # tries that got an answer; waits for a worker that was not ready
        while True:
            endpoint = self.pick(tier, await self.reachable(tier, window))
            endpoint.in_flight += 1
            endpoint.picked = next(self._ticks)
            try:
                reply = await self._call_unless_ejected(endpoint, request)
                if reply is None:  # the worker was ejected while it held the call: elsewhere, uncounted
                    log.warning("window %s: %s was ejected while holding it; trying again", window.window_id,
                                endpoint.address)
                    continue
                return result_from_pb(reply)
            except grpc.aio.AioRpcError as exc:
                error = from_rpc_error(exc)
                not_ready = isinstance(error, Unavailable)  # loading, shutting down, gone: waited for, uncounted
                if not_ready:
                    endpoint.cool_until = time.monotonic() + COOL_DOWN_S
                if not error.retryable or (not not_ready and attempt >= self.policy.retries):
                    raise WorkerCallFailed(error, attempt + 1, endpoint.address) from None
                delay = self.policy.delay(min(waits, 4) if not_ready else attempt)
                if not_ready and waits == 0:
                    log.warning("window %s waits: %s %s (%s)", window.window_id, tier, endpoint.address, error)
                elif not not_ready:
                    log.info("window %s: %s from %s (%s); retry %d in %.2f s", window.window_id,
                             exc.code().name, endpoint.address, error, attempt + 1, delay)
            finally:
                endpoint.in_flight -= 1
            if not_ready:
                waits += 1
            else:
                attempt += 1
            await asyncio.sleep(delay)

    async def _call_unless_ejected(self, endpoint: Endpoint, request):
        """The worker's reply (a ``vila.v1.WindowResult``); None when it was ejected first (the call is cancelled)."""
        call = asyncio.ensure_future(endpoint.stub.Caption(request, timeout=self.timeout_s))
        ejected = asyncio.ensure_future(endpoint.ejected.wait())
        try:
            await asyncio.wait({call, ejected}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ejected.cancel()
        if not call.done():
            call.cancel()
            return None
        return call.result()
