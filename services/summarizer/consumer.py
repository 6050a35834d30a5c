"""Kafka → Redis: the summarizer's consumer loop, at least once and idempotent.

Each poll is one batch: records are decoded, written to Redis through ``SummaryStore``, and only
after Redis acknowledged every write are the offsets committed. A crash anywhere before the commit
replays the batch, which the store absorbs (writes are idempotent by window id and the derived
state is rebuilt from what is stored). While Redis is down the batch is retried until it is back
(nothing is committed meanwhile). A record that is not the message its topic carries goes to the DLQ
with its reason. A batch whose write raises anything else (a bug) is tried ``internal_retries`` more
times, then record by record: a record that still fails goes to the DLQ as ``internal``, the others
are stored, and the stream goes on.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import redis

from core import topics
from core.errors import RecordRefused, UndecodableRecord, describe
from core.transport.kafka import decode_event, decode_result, dlq_headers
from core.transport.kafka_group import GroupConsumer, Record
from core.transport.kafka_delivery import Delivery
from core.types import StreamEvent, WindowResult
from services.summarizer.store import SummaryStore

log = logging.getLogger("vila.summarizer.consumer")

STAGE = "summarizer"


@dataclass
class ConsumerStats:
    batches: int = 0
    results: int = 0
    events: int = 0
    new_entries: int = 0
    dead_lettered: int = 0
    redis_retries: int = 0
    internal_errors: int = 0


@dataclass(frozen=True)
class _Decoded:
    record: Record
    value: WindowResult | StreamEvent


class ResultsConsumer:
    """Reads ``vila.results.v1`` and ``vila.events.v1`` into the store until ``stop`` is set.

    ``consumer`` is a subscribed group member (``GroupConsumer.open``). ``dlq`` (a ``Delivery``) receives
    the records that cannot be stored, each acknowledged before the batch is committed; without it they
    are logged and skipped.
    """

    def __init__(self, consumer: GroupConsumer, store: SummaryStore, *, dlq: Delivery | None = None,
                 max_records: int = 200,
                 retry_backoff_s: float = 1.0, internal_retries: int = 2):
        self.consumer = consumer
        self.store = store
        self.dlq = dlq
        self.max_records = max_records
        self.retry_backoff_s = retry_backoff_s
        self.internal_retries = internal_retries
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._undelivered = False  # a dead letter Kafka had not taken when told to stop

    def run(self, stop: threading.Event) -> None:
        """Poll, store, commit until ``stop`` is set; leaves uncommitted work for the next owner."""
        self._stop = stop
        while not stop.is_set():
            records = self.consumer.poll(timeout_ms=500, max_records=self.max_records)
            if not records:
                continue
            decoded = self._decode(records)
            if not self._store(decoded, stop) or self._undelivered:
                return  # stopping while Redis or Kafka is away: the batch stays uncommitted and is replayed
            # A failed commit (the group rebalanced) is logged there: the new owner replays, harmlessly.
            self.consumer.commit()
            self.stats.batches += 1

    def _decode(self, records: list[Record]) -> list[_Decoded]:
        decoded = []
        for record in records:
            try:
                if record.topic == topics.RESULTS:
                    decoded.append(_Decoded(record, decode_result(record.value)))
                elif record.topic == topics.EVENTS:
                    decoded.append(_Decoded(record, decode_event(record.value)))
            except UndecodableRecord as exc:
                self._dead_letter(record, exc)
        return decoded

    def _store(self, batch: list[_Decoded], stop: threading.Event) -> bool:
        """Writes ``batch`` (see the module docstring); False when told to stop while Redis is down."""
        for tries in range(1, self.internal_retries + 2):
            try:
                return self._write_when_redis_answers(batch, stop)
            except Exception:  # noqa: BLE001 - a bug must not stop the stream
                self.stats.internal_errors += 1
                log.exception("storing a batch of %d records failed (try %d of %d)", len(batch), tries,
                              self.internal_retries + 1)
        return self._store_one_by_one(batch, stop)

    def _store_one_by_one(self, batch: list[_Decoded], stop: threading.Event) -> bool:
        for item in batch:
            for _ in range(self.internal_retries + 1):
                try:
                    if not self._write_when_redis_answers([item], stop):
                        return False
                    break
                except Exception as exc:  # noqa: BLE001
                    error = exc
            else:
                self._dead_letter(item.record, error)
        return True

    def _write_when_redis_answers(self, batch: list[_Decoded], stop: threading.Event) -> bool:
        """Writes ``batch``, retrying while Redis fails; False when told to stop first. Anything else raises."""
        while True:
            try:
                self._write(batch)
                return True
            except redis.RedisError as exc:
                self.stats.redis_retries += 1
                log.warning("Redis write failed (%s); retrying in %.1fs", exc, self.retry_backoff_s)
                if stop.wait(self.retry_backoff_s):
                    return False

    def _write(self, batch: list[_Decoded]) -> None:
        results = [d.value for d in batch if isinstance(d.value, WindowResult)]
        events = [d.value for d in batch if isinstance(d.value, StreamEvent)]
        if events:
            self.store.write_events(events)
        counts = self.store.write_results(results)
        self.stats.results += len(results)
        self.stats.events += len(events)
        self.stats.new_entries += counts.new
        log.debug("stored %d results (%s) and %d events", len(results), counts, len(events))

    def _dead_letter(self, record: Record, error: BaseException) -> None:
        reason = describe(error)
        log.warning("%s cannot be stored (%s): sent to the DLQ", record, reason)
        self.stats.dead_lettered += 1
        if self.dlq is None:
            return
        try:
            delivered = self.dlq.deliver(topics.DLQ, key=record.key, value=record.value or b"",
                                         headers=dlq_headers(reason=reason, stage=STAGE, source_topic=record.topic,
                                                             partition=record.partition.partition,
                                                             offset=record.offset),
                                         stop=self._stop)
        except RecordRefused as exc:  # the record came from Kafka, so this is not expected: logged, go on
            log.error("could not dead-letter %s: %s", record, exc)
            return
        self._undelivered = self._undelivered or not delivered
