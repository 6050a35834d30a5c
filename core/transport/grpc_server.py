"""Shared gRPC server plumbing: an asyncio server with health, reflection, size limits and a graceful stop.

Every vila-stream gRPC server (the worker's ``vila.v1.Inference``, the summarizer's ``vila.v1.Summaries``)
is built the same way, so launchers, ``grpcurl`` and compose health checks treat them alike::

    server = GrpcServer("127.0.0.1:50051", ["vila.v1.Inference"], max_receive_bytes=32 << 20)
    server.add_servicer(servicer, inference_pb2.DESCRIPTOR.services_by_name["Inference"])
    port = await server.start()          # listening; health says NOT_SERVING
    ...                                  # load, warm up
    await server.set_serving()           # health SERVING for "" and every named service
    stop = stop_event_on_signals()       # core.signals: SIGTERM / SIGINT set it
    await stop.wait()
    await server.stop(grace_s=10)        # NOT_SERVING, refuse new calls, drain in-flight ones, stop

What it provides:

- ``grpc.health.v1.Health`` (the asyncio reference servicer). It reports NOT_SERVING for ``""`` and every
  service from ``start()`` until ``set_serving()``, so a load balancer or launcher waits for the model.
  ``stop()`` enters the servicer's graceful-shutdown state: NOT_SERVING for good.
- Server reflection for the named services plus Health and Reflection themselves (``grpcurl list`` works).
- Message size limits: ``max_receive_bytes`` / ``max_send_bytes`` set the transport's limits. gRPC itself
  answers RESOURCE_EXHAUSTED for a message above the receive limit before any handler runs; a server that
  wants INVALID_ARGUMENT for oversized requests sets the transport limit above its logical limit and checks
  the size in its handlers (the worker does this).
- ``add_servicer``: every method of a service, its requests parsed here. A request that is not the message
  the method takes is INVALID_ARGUMENT naming the message ("invalid-request: request is not a
  vila.v1.AskRequest ..."); gRPC's own parsing (the generated ``add_*Servicer_to_server``) would answer
  UNKNOWN and log a traceback for every malformed request.
- ``stop(grace_s)``: in-flight calls get up to ``grace_s`` seconds to finish; new calls are refused.

Failure modes: ``start()`` raises ``InvalidInput`` when the address cannot be bound (port in use, bad host;
SO_REUSEPORT is off, so a port another process listens on is an error, not silently shared).
Create and use a ``GrpcServer`` inside one running event loop.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from core.errors import InvalidInput, InvalidRequest, describe

log = logging.getLogger("vila.transport.grpc")

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GrpcServer:
    """A ``grpc.aio`` server with health and reflection for ``services`` (fully qualified names).

    ``address`` is ``host:port``; port 0 picks a free port (``start()`` returns it).
    Add servicers to ``self.server`` before ``start()``.
    """

    def __init__(self, address: str, services: Sequence[str], *, max_receive_bytes: int,
                 max_send_bytes: int | None = None, options: Iterable[tuple[str, object]] = ()) -> None:
        if max_receive_bytes < 1:
            raise InvalidInput(f"max_receive_bytes must be >= 1, got {max_receive_bytes}")
        self.address = address
        self.services = tuple(services)
        self.port = 0
        channel_options = [
            ("grpc.max_receive_message_length", max_receive_bytes),
            ("grpc.max_send_message_length", max_send_bytes or max_receive_bytes),
            # gRPC enables SO_REUSEPORT by default: a second server on a busy port would silently share it.
            ("grpc.so_reuseport", 0),
            *options,
        ]
        self.server = grpc.aio.server(options=channel_options)
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*self.services, HEALTH_SERVICE, reflection.SERVICE_NAME), self.server)

    def add_servicer(self, servicer: object, service: ServiceDescriptor) -> None:
        """Serve ``servicer``'s method of each RPC of ``service`` (unary or server-streaming), requests parsed
        by ``_parsing`` (see the module docstring). Call before ``start()``."""
        handlers = {}
        for method in service.methods:
            request_type = message_factory.GetMessageClass(method.input_type)
            serialize = message_factory.GetMessageClass(method.output_type).SerializeToString
            behaviour = _parsing(getattr(servicer, method.name), request_type)
            make = (grpc.unary_stream_rpc_method_handler if method.server_streaming
                    else grpc.unary_unary_rpc_method_handler)
            handlers[method.name] = make(behaviour, response_serializer=serialize)
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))

    @property
    def target(self) -> str:
        """``host:port`` a client dials once started (the real port when 0 was asked)."""
        host = self.address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> int:
        """Bind and start serving (health NOT_SERVING); the bound port. InvalidInput if it cannot bind."""
        for name in ("", *self.services):
            await self.health.set(name, _NOT_SERVING)
        try:
            self.port = self.server.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise InvalidInput(f"cannot listen on {self.address}: {exc}") from None
        if self.port == 0:  # older grpcio reports a failed bind as port 0
            raise InvalidInput(f"cannot listen on {self.address}: address in use or not available")
        await self.server.start()
        log.info("listening on %s (NOT_SERVING)", self.target)
        return self.port

    async def set_serving(self) -> None:
        """Health SERVING for ``""`` and every service (no-op once ``stop()`` began)."""
        for name in ("", *self.services):
            await self.health.set(name, _SERVING)

    async def set_not_serving(self) -> None:
        """Health NOT_SERVING for ``""`` and every service (for example while reloading)."""
        for name in ("", *self.services):
            await self.health.set(name, _NOT_SERVING)

    async def stop(self, grace_s: float) -> None:
        """NOT_SERVING for good, refuse new calls, let in-flight calls finish for up to ``grace_s``, stop."""
        await self.health.enter_graceful_shutdown()
        log.info("stopping %s (grace %.1fs)", self.target, grace_s)
        await self.server.stop(grace_s)

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


def _parsing(behaviour: Callable, request_type: type) -> Callable:
    """``behaviour`` taking the request's bytes: parsed into ``request_type``, or INVALID_ARGUMENT."""
    name = request_type.DESCRIPTOR.full_name

    async def parse(raw: bytes, context: grpc.aio.ServicerContext):
        try:
            return request_type.FromString(raw)
        except (DecodeError, ValueError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                describe(InvalidRequest(f"request is not a {name} ({exc})")))

    if inspect.isasyncgenfunction(behaviour):
        async def stream(raw: bytes, context: grpc.aio.ServicerContext):
            async for item in behaviour(await parse(raw, context), context):
                yield item
        return stream

    async def call(raw: bytes, context: grpc.aio.ServicerContext):
        return await behaviour(await parse(raw, context), context)
    return call
