"""The one map from an exception to a gRPC status, for every servicer, and back for every client.

Servers: decorate each handler with ``@mapped("vila.worker.grpc")`` (unary and server-streaming alike). A
``VilaError`` aborts with its ``grpc_code`` and ``describe(error)`` as the detail ("reason: message", one
line); a failure of a backing service the adapters know (Redis) is first turned into its typed error
(``typed``); anything else is a bug: logged with its traceback, answered INTERNAL with one line, and the
server goes on. Clients: ``from_rpc_error(exc)`` gives back the typed error the server reported.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import grpc
import redis

from core.errors import BrokerUnavailable, Overloaded, Unavailable, VilaError, describe, from_remote

Handler = Callable[..., Awaitable[object]]


def typed(error: BaseException) -> BaseException:
    """``error`` as the typed error it stands for, when it comes from a backing service; else itself."""
    if isinstance(error, redis.RedisError):
        return Unavailable(f"Redis is unavailable: {error}")
    if type(error).__module__.startswith("kafka."):
        return BrokerUnavailable(f"Kafka failed: {type(error).__name__}: {error}")
    return error


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and one-line detail that answer ``error``."""
    error = typed(error)
    if isinstance(error, VilaError):
        return getattr(grpc.StatusCode, error.grpc_code, grpc.StatusCode.INTERNAL), describe(error)
    return grpc.StatusCode.INTERNAL, describe(error)


def mapped(logger: str) -> Callable[[Handler], Handler]:
    """A decorator that answers every exception of a handler with ``status_of`` (see the module docstring)."""
    log = logging.getLogger(logger)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(self, request, context: grpc.aio.ServicerContext):
            try:
                return await handler(self, request, context)
            except grpc.aio.AbortError:  # the handler aborted with a status of its own choosing
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes a status; the server goes on
                code, detail = status_of(exc)
                if code == grpc.StatusCode.INTERNAL:
                    log.exception("%s failed", handler.__name__)
                else:  # refusals under overload come in floods: keep them out of the default log
                    log.log(logging.DEBUG if isinstance(exc, Overloaded) else logging.INFO,
                            "%s refused: %s", handler.__name__, detail)
                await context.abort(code, detail)

        return wrapper

    return decorate


def from_rpc_error(error: grpc.RpcError) -> VilaError:
    """The typed error behind a failed call (``core.errors.from_remote`` of its status and detail)."""
    return from_remote(error.code().name, error.details() or "")
