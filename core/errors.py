"""Typed errors. Each carries a one-line message meant for the user.

Recoverable problems (a stalled camera, one undecodable packet) are handled where
they occur; these types are what crosses a stage boundary. The CLI prints
``str(error)`` and exits with ``error.exit_code``; the gRPC layer (cluster issue)
maps ``error.grpc_code`` onto a status code; the dispatcher uses ``error.reason``
as the DLQ reason.
"""
from __future__ import annotations


class VilaError(Exception):
    """Base of all expected errors. Never shown with a traceback."""

    exit_code = 1
    grpc_code = "INTERNAL"
    reason = "error"


class InvalidInput(VilaError):
    """The user's input (a file, URL, option or request) is wrong."""

    exit_code = 2
    grpc_code = "INVALID_ARGUMENT"
    reason = "invalid-input"


class SourceError(VilaError):
    """A source cannot be opened or read."""

    exit_code = 3
    grpc_code = "UNAVAILABLE"
    reason = "source"


class SourceNotFound(SourceError):
    reason = "source-not-found"


class SourceUnreachable(SourceError):
    reason = "source-unreachable"


class NotAVideo(SourceError):
    reason = "not-a-video"


class UnsupportedCodec(SourceError):
    reason = "unsupported-codec"


class CorruptMedia(SourceError):
    """Part of a file could not be decoded; what could be decoded was used."""

    reason = "corrupt-media"


class ModelError(VilaError):
    exit_code = 4
    grpc_code = "FAILED_PRECONDITION"
    reason = "model"


class ModelLayoutError(ModelError):
    """A model directory is not in the VILA checkpoint layout."""

    reason = "model-layout"


class BackendUnavailable(ModelError):
    """A configured model backend (CUDA quantisation, TensorRT, ONNX Runtime) is not usable on this machine."""

    reason = "backend-unavailable"


class InvalidRequest(VilaError):
    """A request to a model (no frames, bad JPEG, too many frames, ...)."""

    exit_code = 2
    grpc_code = "INVALID_ARGUMENT"
    reason = "invalid-request"


class Overloaded(VilaError):
    grpc_code = "RESOURCE_EXHAUSTED"
    reason = "overloaded"


class BrokerUnavailable(VilaError):
    """Kafka (or another backing service) cannot be reached; the message names the address."""

    exit_code = 5
    grpc_code = "UNAVAILABLE"
    reason = "broker-unavailable"


class UndecodableRecord(InvalidInput):
    """A Kafka record whose value is not the message its topic carries (goes to the DLQ)."""

    reason = "undecodable-record"


class ClusterError(VilaError):
    """A local service (Kafka, Redis, a worker...) could not be started, found or stopped; names which and why."""

    exit_code = 6
    grpc_code = "UNAVAILABLE"
    reason = "cluster"


class MissingDependency(ClusterError):
    """Something the local cluster runs on is not installed (Java, Kafka's jars, redis-server): run make install."""

    reason = "missing-dependency"


class Unavailable(VilaError):
    """A service cannot take the request right now (still loading, shutting down); retrying elsewhere helps."""

    grpc_code = "UNAVAILABLE"
    reason = "unavailable"


class UnknownStream(InvalidInput):
    """A request names a stream the summarizer has stored nothing for."""

    grpc_code = "NOT_FOUND"
    reason = "unknown-stream"
