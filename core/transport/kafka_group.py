"""Kafka consumer-group adapter: what the dispatcher and the summarizer need of a group member, in plain types.

``GroupConsumer.open(...)`` joins a group (manual commits, ``make_consumer``'s sizes) and subscribes;
``poll`` returns ``Record``s; ``commit`` commits offsets (all polled ones, or those given) and says
whether it took. Rebalance callbacks get sets of ``Partition``: ``on_assigned`` is told, ``on_revoked``
answers with the offsets to commit before the partitions go (``{Partition: next offset}``), and this
module commits them. Call everything of one ``GroupConsumer`` from one thread (kafka-python's consumer
is not thread-safe). The callbacks run on kafka-python's own IO thread while ``poll`` waits, where a
blocking consumer call raises ("Cannot block on net.run() from the IO thread"): so a callback only
computes, and the revoke commit is awaited on that thread with the client's asynchronous commit.
No kafka-python type leaves this module.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from core.transport.kafka import Headers, make_consumer

log = logging.getLogger("vila.transport.kafka")


@dataclass(frozen=True, order=True)
class Partition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


@dataclass(frozen=True)
class Record:
    """One consumed record: where it sits, its key, value and headers."""

    partition: Partition
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    @property
    def topic(self) -> str:
        return self.partition.topic

    def __str__(self) -> str:
        return f"{self.partition}@{self.offset}"


PartitionsFn = Callable[[set[Partition]], None]
RevokedFn = Callable[[set[Partition]], Mapping[Partition, int]]


class _Listener(AsyncConsumerRebalanceListener):
    """Runs on kafka-python's IO thread, between the group's generations (see the module docstring)."""

    def __init__(self, on_revoked: RevokedFn | None, on_assigned: PartitionsFn | None) -> None:
        self._revoked, self._assigned = on_revoked, on_assigned
        self.consumer: KafkaConsumer | None = None

    async def on_partitions_revoked(self, revoked):
        if not self._revoked:
            return
        offsets = self._revoked({Partition(tp.topic, tp.partition) for tp in revoked})
        if not offsets or self.consumer is None:
            return
        try:  # still this generation's member: the broker takes the commit before the group rejoins
            await self.consumer.commit_async(_kafka_offsets(offsets))
        except KafkaError as exc:
            log.warning("commit of %s before a rebalance failed (%s); the new owner redoes those records",
                        _show(offsets), exc)

    async def on_partitions_assigned(self, assigned):
        if self._assigned:
            self._assigned({Partition(tp.topic, tp.partition) for tp in assigned})


class GroupConsumer:
    """A consumer-group member (see the module docstring)."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer

    @classmethod
    def open(cls, bootstrap: str, *, group_id: str, client_id: str, topics: Sequence[str],
             on_revoked: RevokedFn | None = None, on_assigned: PartitionsFn | None = None,
             **overrides) -> "GroupConsumer":
        """Join ``group_id`` and subscribe to ``topics``; ``BrokerUnavailable`` when Kafka does not answer."""
        consumer = make_consumer(bootstrap, group_id=group_id, client_id=client_id, **overrides)
        listener = _Listener(on_revoked, on_assigned)
        listener.consumer = consumer
        consumer.subscribe(list(topics), listener=listener)
        return cls(consumer)

    def poll(self, *, timeout_ms: int, max_records: int) -> list[Record]:
        """Up to ``max_records`` records (in offset order per partition), waiting at most ``timeout_ms``."""
        batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return [Record(Partition(tp.topic, tp.partition), r.offset, r.key, r.value, list(r.headers or ()))
                for tp, records in batches.items() for r in records]

    def commit(self, offsets: Mapping[Partition, int] | None = None) -> bool:
        """Commit ``offsets`` (the next offset to read, per partition), or everything polled when None.

        False (logged) when the group moved on meanwhile or Kafka refused: the records are redelivered.
        """
        try:
            if offsets is None:
                self._consumer.commit()
            elif offsets:
                self._consumer.commit(_kafka_offsets(offsets))
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit of %s failed (%s); those records will be redelivered",
                        _show(offsets) if offsets is not None else "the polled records", exc)
            return False
        return True

    def assignment(self) -> set[Partition]:
        """The partitions this member holds now (empty until the group assigned it some)."""
        return {Partition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def close(self) -> None:
        """Leave the group without committing (callers commit what they finished first)."""
        self._consumer.close(autocommit=False)


def _kafka_offsets(offsets: Mapping[Partition, int]) -> dict[TopicPartition, OffsetAndMetadata]:
    return {TopicPartition(p.topic, p.partition): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}


def _show(offsets: Mapping[Partition, int]) -> str:
    return ", ".join(f"{p}@{o}" for p, o in sorted(offsets.items()))

