"""Typed errors and the one map from each to what the outside sees. Each carries a one-line message.

Recoverable problems (a stalled camera, one undecodable packet) are handled where they occur; these types
are what crosses a stage boundary. Each type declares, once:

- ``exit_code``: what a CLI or a deployable's ``main()`` exits with (``EXIT_CODES`` says what each means;
  the README's table is tested against it);
- ``grpc_code``: the status a servicer aborts with (``core.transport.grpc_errors`` maps it for all of them);
- ``reason``: the slug before the message in a DLQ record's reason, a window's ``error`` and a gRPC detail
  (``describe``: "reason: message"); a remote's detail is turned back into its type by ``from_remote``;
- ``retryable``: whether trying the same thing again later can succeed (a full queue, a restarting
  service), or will fail the same way (a bad request).

Anything that is not a ``VilaError`` is a bug: exit 1, INTERNAL, DLQ reason ``internal``.
"""
from __future__ import annotations

#: Exit status -> what it means; every ``exit_code`` below is one of these.
EXIT_CODES: dict[int, str] = {
    0: "done",
    1: "internal error",
    2: "invalid option or request",
    3: "the source",
    4: "the model",
    5: "a cluster service cannot be reached",
    6: "a local cluster service could not be started, found or stopped",
}


class VilaError(Exception):
    """Base of all expected errors. Never shown with a traceback."""

    exit_code = 1
    grpc_code = "INTERNAL"
    reason = "internal"
    retryable = False


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
    """A service's bounded queue is full; it sheds the request instead of queueing without limit."""

    grpc_code = "RESOURCE_EXHAUSTED"
    reason = "overloaded"
    retryable = True


class BrokerUnavailable(VilaError):
    """Kafka (or another backing service) cannot be reached; the message names the address."""

    exit_code = 5
    grpc_code = "UNAVAILABLE"
    reason = "broker-unavailable"
    retryable = True


class RecordRefused(InvalidInput):
    """Kafka will never take this record, however often it is sent (larger than the topic allows, say)."""

    reason = "record-refused"


class UndecodableRecord(InvalidInput):
    """A Kafka record whose value is not the message its topic carries (goes to the DLQ)."""

    reason = "undecodable-record"


class InvalidRecord(UndecodableRecord):
    """A Kafka record that decodes but cannot be used as it is: a window or result with an impossible time
    span (NaN, infinite, negative, reversed). Goes to the DLQ like an undecodable one."""

    reason = "invalid-record"


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

    exit_code = 5
    grpc_code = "UNAVAILABLE"
    reason = "unavailable"
    retryable = True


class DeadlineExceeded(VilaError):
    """A call to another service got no answer within its deadline (a hung or overloaded service)."""

    exit_code = 5
    grpc_code = "DEADLINE_EXCEEDED"
    reason = "deadline-exceeded"
    retryable = True


class RemoteError(VilaError):
    """Another service failed a call with a status that names no vila-stream error (its own bug, say)."""

    exit_code = 5
    grpc_code = "UNKNOWN"
    reason = "remote"


class WorkerCallFailed(VilaError):
    """A window no worker answered: ``cause`` is the last worker's error, ``attempts`` the tries made.

    It is what ``cause`` is (its reason, status and whether it is retryable), with where and how often.
    """

    exit_code = 5

    def __init__(self, cause: VilaError, attempts: int, address: str) -> None:
        super().__init__(f"{cause} (worker {address}, {attempts} attempt{'s' if attempts != 1 else ''})")
        self.cause, self.attempts, self.address = cause, attempts, address
        self.grpc_code, self.reason, self.retryable = cause.grpc_code, cause.reason, cause.retryable


class UnknownStream(InvalidInput):
    """A request names a stream the summarizer has stored nothing for."""

    grpc_code = "NOT_FOUND"
    reason = "unknown-stream"


#: The longest ``describe`` line: a gRPC status detail travels in a header (16 KiB at most), a DLQ reason too.
MAX_DESCRIPTION = 1000


def quoted(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for naming hostile input in a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def describe(error: BaseException) -> str:
    """One line: "reason: message" for a typed error, "internal: Type: message" for anything else.

    The one form of a DLQ reason, a refused window's ``error`` and a gRPC status detail.
    """
    if isinstance(error, VilaError):
        text = f"{error.reason}: {error}"
    else:
        text = f"internal: {type(error).__name__}: {error}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else f"{text[:MAX_DESCRIPTION - 30]}... ({len(text)} characters)"


def error_types() -> list[type[VilaError]]:
    """``VilaError`` and every subclass of it (in this module or elsewhere), parents first."""
    found, todo = [], [VilaError]
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


#: A remote status without a vila-stream reason in its detail: the type that stands for it.
_BY_STATUS: dict[str, type[VilaError]] = {
    "UNAVAILABLE": Unavailable, "DEADLINE_EXCEEDED": DeadlineExceeded, "INVALID_ARGUMENT": InvalidRequest,
    "NOT_FOUND": UnknownStream, "FAILED_PRECONDITION": ModelError,
}


def from_remote(grpc_code: str, detail: str) -> VilaError:
    """The typed error a remote service reported: status name (``"UNAVAILABLE"``) and its detail.

    A detail written by ``describe`` ("overloaded: the queue is full") gives back the type with that reason;
    another (gRPC's own "Connection refused", "Received message larger than max") the status's type above,
    or ``RemoteError`` carrying the status. So ``retryable`` is decided by the type, declared once.
    """
    slug, sep, message = detail.partition(": ")
    for cls in error_types():
        if sep and cls.reason == slug and cls.grpc_code == grpc_code and "__init__" not in vars(cls):
            return cls(message)
    cls = _BY_STATUS.get(grpc_code)
    if cls is not None:
        return cls(f"{grpc_code}: {detail}" if detail else grpc_code)
    error = RemoteError(f"{grpc_code}: {detail}" if detail else grpc_code)
    error.grpc_code = grpc_code
    return error
