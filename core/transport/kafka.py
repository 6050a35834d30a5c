"""Kafka adapter: client factories sized for frame windows, topic creation, headers, record codecs.

Every service builds its clients here so that the sizes agree end to end (a window of several
JPEG frames can be megabytes): records up to ``MAX_RECORD_BYTES`` are produced, and consumers
fetch up to ``FETCH_MAX_BYTES``. The broker's ``message.max.bytes`` is set by the launcher
(``services/cluster``); topics created here also carry ``max.message.bytes``.

Record values are serialized ``vila.v1`` messages (see ``core.topics``); the codecs
below convert them to and from domain types and raise ``UndecodableRecord`` for anything else,
so a poison record becomes a DLQ entry, never a crash.
"""
from __future__ import annotations

import logging
import math
from typing import Iterable, Sequence

from google.protobuf.message import DecodeError
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, TopicAlreadyExistsError
from vila.v1 import media_pb2, results_pb2

from core import topics
from core.convert import (
    event_from_pb,
    event_to_pb,
    result_from_pb,
    result_to_pb,
    window_from_pb,
    window_to_pb,
)
from core.errors import MAX_DESCRIPTION, BrokerUnavailable, InvalidRecord, UndecodableRecord
from core.ids import shown, stream_id_problem
from core.types import FrameWindow, StreamEvent, WindowResult
from core.windowing import result_problem, window_problem

log = logging.getLogger("vila.transport.kafka")

MIB = 1024 * 1024
#: Largest record a producer sends (a window with many large frames fits).
MAX_RECORD_BYTES = 16 * MIB
#: Consumer fetch sizes: at least one whole record per partition and per fetch.
FETCH_MAX_BYTES = 32 * MIB
#: Topic-level limit set on topics created by ``ensure_topics`` (a little over the producer's).
TOPIC_MAX_MESSAGE_BYTES = 17 * MIB

Headers = list[tuple[str, bytes]]


def _unreachable(bootstrap: str, exc: Exception) -> BrokerUnavailable:
    return BrokerUnavailable(f"Kafka at {bootstrap} is unreachable ({type(exc).__name__}); "
                             f"is the cluster up? (set VILA_KAFKA_BOOTSTRAP or --kafka-bootstrap)")


def make_producer(bootstrap: str, *, client_id: str, linger_ms: int = 5,
                  connect_timeout_s: float = 10.0, **overrides) -> KafkaProducer:
    """An idempotent producer (acks=all) that sends records up to ``MAX_RECORD_BYTES``.

    Raises ``BrokerUnavailable`` when no broker answers within ``connect_timeout_s``.
    """
    config = dict(
        bootstrap_servers=bootstrap.split(","), client_id=client_id, acks="all",
        enable_idempotence=True, linger_ms=linger_ms, max_request_size=MAX_RECORD_BYTES,
        request_timeout_ms=30_000, bootstrap_timeout_ms=int(connect_timeout_s * 1000),
    )
    config.update(overrides)
    try:
        return KafkaProducer(**config)
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc


def make_consumer(bootstrap: str, *, group_id: str, client_id: str,
                  subscribe: Sequence[str] = (), connect_timeout_s: float = 10.0,
                  **overrides) -> KafkaConsumer:
    """A group consumer with manual commits, reading from the earliest uncommitted offset.

    ``enable_auto_commit`` is off: callers commit only what they have finished (at-least-once).
    Raises ``BrokerUnavailable`` when no broker answers within ``connect_timeout_s``.
    """
    config = dict(
        bootstrap_servers=bootstrap.split(","), group_id=group_id, client_id=client_id,
        enable_auto_commit=False, auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_MAX_BYTES, fetch_max_bytes=FETCH_MAX_BYTES,
        bootstrap_timeout_ms=int(connect_timeout_s * 1000),
    )
    config.update(overrides)
    try:
        consumer = KafkaConsumer(**config)
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc
    if subscribe:
        consumer.subscribe(list(subscribe))
    return consumer


def ensure_topics(bootstrap: str, names: Iterable[str] = topics.ALL, *,
                  partitions: int = topics.DEFAULT_PARTITIONS,
                  replication: int = topics.DEFAULT_REPLICATION,
                  connect_timeout_s: float = 10.0) -> list[str]:
    """Create whichever of ``names`` do not exist yet; returns the names created.

    Idempotent and safe to race: several services starting at once all call it.
    Raises ``BrokerUnavailable`` when the broker cannot be reached.
    """
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="vila-admin",
                                 bootstrap_timeout_ms=int(connect_timeout_s * 1000))
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc
    try:
        missing = [n for n in names if n not in set(admin.list_topics())]
        created = []
        for name in missing:
            configs = {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}
            if name in topics.COMPACTED:
                configs["cleanup.policy"] = "compact"
            spec = {name: {"num_partitions": partitions, "replication_factor": replication, "configs": configs}}
            try:
                admin.create_topics(spec, timeout_ms=15_000, wait_for_metadata=True)
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another service won the race
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc
    finally:
        admin.close()


# --- keys and headers -------------------------------------------------------------------------


def stream_key(stream_id: str) -> bytes:
    """The record key: the stream id, so one stream stays in order on one partition."""
    return stream_id.encode("utf-8")


def make_headers(**values: str | int) -> Headers:
    """Kafka headers from keyword values; ``_`` in a name becomes ``-`` (``vila_dlq_reason``)."""
    return [(name.replace("_", "-"), str(value).encode("utf-8")) for name, value in values.items()]


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The UTF-8 value of the first header called ``name``, or None."""
    for key, value in headers or ():
        if key == name:
            return (value or b"").decode("utf-8", errors="replace")
    return None


def dlq_headers(*, reason: str, stage: str, source_topic: str, partition: int, offset: int) -> Headers:
    """The DLQ headers of the cluster contract; ``reason`` is flattened to one line."""
    one_line = " ".join(reason.split())[:MAX_DESCRIPTION]
    return [
        (topics.DLQ_REASON, one_line.encode("utf-8")),
        (topics.DLQ_STAGE, stage.encode("utf-8")),
        (topics.DLQ_SOURCE_TOPIC, source_topic.encode("utf-8")),
        (topics.DLQ_PARTITION, str(partition).encode("utf-8")),
        (topics.DLQ_OFFSET, str(offset).encode("utf-8")),
    ]


# --- record codecs ----------------------------------------------------------------------------


def _parse(message, raw: bytes | None, what: str):
    if not raw:
        raise UndecodableRecord(f"empty record where a {what} was expected")
    try:
        message.ParseFromString(raw)
    except (DecodeError, ValueError) as exc:
        raise UndecodableRecord(f"record is not a {what} ({exc})") from None
    return message


def encode_window(window: FrameWindow) -> bytes:
    return window_to_pb(window).SerializeToString()


def decode_window(raw: bytes | None) -> FrameWindow:
    """A ``FrameWindow`` from a record value; ``UndecodableRecord`` when it is not a usable one
    (``InvalidRecord`` when it parses but ``core.windowing.window_problem`` finds a field impossible)."""
    m = _parse(media_pb2.FrameWindow(), raw, "vila.v1.FrameWindow")
    if not m.stream_id or not m.window_id:
        raise UndecodableRecord("record is not a vila.v1.FrameWindow (no stream_id or window_id)")
    if not m.frames:
        raise UndecodableRecord(f"window {shown(m.window_id)} has no frames")
    window = window_from_pb(m)
    if problem := window_problem(window):
        raise InvalidRecord(f"window {shown(m.window_id)}: {problem}")
    return window


def encode_result(result: WindowResult) -> bytes:
    return result_to_pb(result).SerializeToString()


def decode_result(raw: bytes | None) -> WindowResult:
    """A ``WindowResult`` from a record value; ``UndecodableRecord`` when it is not one (``InvalidRecord``
    when ``core.windowing.result_problem`` finds a field impossible)."""
    m = _parse(results_pb2.WindowResult(), raw, "vila.v1.WindowResult")
    if not m.window.stream_id or not m.window.window_id:
        raise UndecodableRecord("record is not a vila.v1.WindowResult (no window reference)")
    result = result_from_pb(m)
    if problem := result_problem(result):
        raise InvalidRecord(f"result of window {shown(m.window.window_id)}: {problem}")
    return result


def encode_event(event: StreamEvent) -> bytes:
    return event_to_pb(event).SerializeToString()


def decode_event(raw: bytes | None) -> StreamEvent:
    """A ``StreamEvent`` from a record value; ``UndecodableRecord`` when it is not one (``InvalidRecord``
    for a stream id against the rule or a time that is not a finite number)."""
    m = _parse(results_pb2.StreamEvent(), raw, "vila.v1.StreamEvent")
    if not m.stream_id:
        raise UndecodableRecord("record is not a vila.v1.StreamEvent (no stream_id)")
    if problem := stream_id_problem(m.stream_id):
        raise InvalidRecord(f"stream event: {problem}")
    if not math.isfinite(m.time_unix):
        raise InvalidRecord(f"stream event of {m.stream_id}: time {m.time_unix!r} is not a finite number")
    try:
        return event_from_pb(m)
    except ValueError as exc:
        raise UndecodableRecord(str(exc)) from None
