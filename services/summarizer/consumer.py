"""Kafka → Redis: the summarizer's consumer loop, at least once and idempotent.

Each poll is one batch: records are decoded, written to Redis through ``SummaryStore``, and only
after Redis acknowledged every write are the offsets committed. A crash anywhere before the commit
replays the batch, which the store absorbs (writes are idempotent by window id and the derived
state is rebuilt from what is stored). A record that is not the message its topic carries goes to
the DLQ with its reason; the stream goes on.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import redis
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError, KafkaError

from core import topics
from core.errors import UndecodableRecord
from core.types import StreamEvent, WindowResult
from services.summarizer.store import SummaryStore
from core.transport.kafka import decode_event, decode_result, dlq_headers

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


class ResultsConsumer:
    """Reads ``vila.results.v1`` and ``vila.events.v1`` into the store until ``stop`` is set.

    ``consumer`` must be subscribed, with auto-commit off (``make_consumer`` does both).
    ``dlq`` receives undecodable records; without it they are logged and skipped.
    """

    def __init__(self, consumer: KafkaConsumer, store: SummaryStore, *, dlq: KafkaProducer | None = None,
                 max_records: int = 200, retry_backoff_s: float = 1.0):
        self.consumer = consumer
        self.store = store
        self.dlq = dlq
        self.max_records = max_records
        self.retry_backoff_s = retry_backoff_s
        self.stats = ConsumerStats()

    def run(self, stop: threading.Event) -> None:
        """Poll, store, commit until ``stop`` is set; leaves uncommitted work for the next owner."""
        while not stop.is_set():
            batch = self.consumer.poll(timeout_ms=500, max_records=self.max_records)
            if not batch:
                continue
            results, events = self._decode(batch)
            if not self._store(results, events, stop):
                return  # stopping while Redis is down: the batch stays uncommitted and is replayed
            try:
                self.consumer.commit()
            except CommitFailedError as exc:  # the group rebalanced: the new owner replays, harmlessly
                log.warning("commit failed after a rebalance (%s); the batch will be replayed", exc)
            self.stats.batches += 1

    def _decode(self, batch) -> tuple[list[WindowResult], list[StreamEvent]]:
        results: list[WindowResult] = []
        events: list[StreamEvent] = []
        poison = 0
        for tp, records in batch.items():
            for rec in records:
                try:
                    if tp.topic == topics.RESULTS:
                        results.append(decode_result(rec.value))
                    elif tp.topic == topics.EVENTS:
                        events.append(decode_event(rec.value))
                except UndecodableRecord as exc:
                    self._dead_letter(tp, rec, str(exc))
                    poison += 1
        if self.dlq is not None and poison:
            self.dlq.flush()  # acknowledged before the offsets move past the poison records
        return results, events

    def _dead_letter(self, tp, rec, reason: str) -> None:
        log.warning("%s[%d]@%d is undecodable (%s): sent to the DLQ", tp.topic, tp.partition, rec.offset, reason)
        self.stats.dead_lettered += 1
        if self.dlq is None:
            return
        try:
            self.dlq.send(topics.DLQ, key=rec.key, value=rec.value or b"",
                          headers=dlq_headers(reason=reason, stage=STAGE, source_topic=tp.topic,
                                              partition=tp.partition, offset=rec.offset))
        except KafkaError as exc:
            log.error("could not dead-letter %s[%d]@%d: %s", tp.topic, tp.partition, rec.offset, exc)

    def _store(self, results: list[WindowResult], events: list[StreamEvent], stop: threading.Event) -> bool:
        """Writes until Redis acknowledges; False when told to stop first."""
        while True:
            try:
                if events:
                    self.store.write_events(events)
                counts = self.store.write_results(results)
                self.stats.results += len(results)
                self.stats.events += len(events)
                self.stats.new_entries += counts.new
                log.debug("stored %d results (%s) and %d events", len(results), counts, len(events))
                return True
            except redis.RedisError as exc:
                self.stats.redis_retries += 1
                log.warning("Redis write failed (%s); retrying in %.1fs", exc, self.retry_backoff_s)
                if stop.wait(self.retry_backoff_s):
                    return False
