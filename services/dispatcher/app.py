"""The dispatcher process: ``python -m services.dispatcher``.

``Dispatcher.run()`` is the start-up, in order:

1. create the topics if missing (``ensure_topics``);
2. open the results producer (idempotent, acks=all) and the worker channels;
3. join the consumer group on ``vila.windows.v1`` (manual commits);
4. print ``ready ...`` on stderr once partitions are assigned;
5. loop: take records while fewer than ``max_in_flight`` are being processed, handle each in its
   own task (decode -> route -> worker -> maybe escalate -> produce), and commit, per partition,
   up to the lowest offset whose outcome Kafka has not yet acknowledged (``OffsetTracker``).

On SIGTERM: stop taking records, let in-flight ones finish, commit, close, exit 0. A record whose
outcome cannot be produced at all (Kafka gone for longer than the producer's delivery timeout)
stops the process with exit 1 without committing it, so a restart processes it again.

All consumer calls run on one dedicated thread (kafka-python's consumer is not thread-safe);
gRPC and the record tasks run on the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from core import topics
from services.dispatcher.handler import DeadLetter, Outcome, Publish, WindowHandler
from services.dispatcher.offsets import OffsetTracker
from services.dispatcher.pool import WorkerPool
from services.dispatcher.settings import DispatcherSettings
from core.transport import kafka as kt
from core.transport.grpc_server import stop_event_on_signals

log = logging.getLogger("vila.dispatcher")

POLL_MS = 200


@dataclass
class Stats:
    results: int = 0
    escalated: int = 0
    dead_lettered: int = 0

    def line(self) -> str:
        return f"results={self.results} escalated={self.escalated} dlq={self.dead_lettered}"


class _Rebalance(ConsumerRebalanceListener):
    """Commits what is finished of a partition before it moves to another dispatcher."""

    def __init__(self, app: "Dispatcher") -> None:
        self.app = app

    def on_partitions_revoked(self, revoked):
        self.app._commit_now(revoked)
        for tp in revoked:
            self.app.tracker.forget(tp)

    def on_partitions_assigned(self, assigned):
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)) or "nothing")
        self.app.assigned = True


class Dispatcher:
    def __init__(self, settings: DispatcherSettings) -> None:
        self.settings = settings
        self.tracker = OffsetTracker()
        self.stats = Stats()
        self.pool = WorkerPool({tier: settings.workers(tier) for tier in ("edge", "cloud") if settings.workers(tier)},
                               settings.labels, settings.retry_policy(), settings.request_timeout_s)
        self.handler = WindowHandler(self.pool.caption, settings.router(), settings.rule())
        self.assigned = False
        self.failed: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        self._consumer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vila-consumer")
        self.producer = None
        self.consumer = None

    async def run(self, stop: asyncio.Event) -> int:
        """Steps 1-5 of the module docstring until ``stop``; the exit status."""
        s = self.settings
        await self._in_consumer_thread(kt.ensure_topics, s.kafka_bootstrap)
        self.producer = await self._in_consumer_thread(kt.make_producer, s.kafka_bootstrap,
                                                       client_id="vila-dispatcher")
        self.pool.open()
        self.consumer = await self._in_consumer_thread(
            kt.make_consumer, s.kafka_bootstrap, group_id=s.group_id, client_id="vila-dispatcher",
            session_timeout_ms=s.session_timeout_ms, heartbeat_interval_ms=max(500, s.session_timeout_ms // 6),
            # With every slot taken the loop polls again only when a window finishes, which may take all
            # of a window's tries: stay in the group that long.
            max_poll_interval_ms=max(300_000, int(s.worst_case_window_s() * 1000) + 60_000))
        await self._in_consumer_thread(self.consumer.subscribe, [topics.WINDOWS], listener=_Rebalance(self))
        announced = False
        try:
            while not stop.is_set() and self.failed is None:
                await self._take_records()
                await self._commit()
                if self.assigned and not announced:
                    announced = True
                    print(f"ready dispatcher group={s.group_id} kafka={s.kafka_bootstrap} "
                          f"edge={','.join(s.edge_workers)} cloud={','.join(s.cloud_workers)} "
                          f"max_in_flight={s.max_in_flight}", file=sys.stderr, flush=True)
        finally:
            await self._shutdown()
        if self.failed is not None:
            log.error("stopping: %s", self.failed)
            return 1
        return 0

    # -- the loop --------------------------------------------------------------------------------
    async def _take_records(self) -> None:
        room = self.settings.max_in_flight - len(self._tasks)
        if room <= 0:
            await asyncio.wait(self._tasks, timeout=POLL_MS / 1000, return_when=asyncio.FIRST_COMPLETED)
            return
        batches = await self._in_consumer_thread(self.consumer.poll, timeout_ms=POLL_MS, max_records=room)
        for tp, records in batches.items():
            for record in records:
                self.tracker.start(tp, record.offset)
                task = asyncio.create_task(self._process(tp, record), name=f"window {tp.partition}:{record.offset}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _process(self, tp: TopicPartition, record) -> None:
        try:
            outcome = await self.handler.handle(record.value)
            await self._produce(outcome, tp, record)
        except Exception as exc:  # noqa: BLE001 - the record stays uncommitted; a restart redoes it
            log.exception("record %s[%d]@%d could not be finished", tp.topic, tp.partition, record.offset)
            self.failed = exc
            return
        self.tracker.finish(tp, record.offset)

    async def _produce(self, outcome: Outcome, tp: TopicPartition, record) -> None:
        if isinstance(outcome, Publish):
            result = outcome.result
            headers = [(topics.RESULT_GROUP, self.settings.group_id.encode())]
            if outcome.escalated:
                headers.append((topics.RESULT_ESCALATED, outcome.escalated.encode()))
            future = self.producer.send(topics.RESULTS, key=kt.stream_key(result.stream_id),
                                        value=kt.encode_result(result), headers=headers)
            await self._acked(future)
            self.stats.results += 1
            if outcome.escalated:
                self.stats.escalated += 1
                log.info("window %s escalated to cloud: %s", result.window_id, outcome.escalated)
            return
        assert isinstance(outcome, DeadLetter)
        headers = kt.dlq_headers(reason=outcome.reason, stage=outcome.stage, source_topic=tp.topic,
                                 partition=tp.partition, offset=record.offset)
        future = self.producer.send(topics.DLQ, key=record.key, value=record.value or b"", headers=headers)
        await self._acked(future)
        self.stats.dead_lettered += 1
        log.warning("record %s[%d]@%d -> DLQ (%s): %s", tp.topic, tp.partition, record.offset, outcome.stage,
                    outcome.reason)

    async def _acked(self, kafka_future) -> None:
        """Waits until Kafka acknowledged the record (raises the producer's error)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def ok(metadata):
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(metadata))

        def failed(exc):
            loop.call_soon_threadsafe(lambda: done.done() or done.set_exception(exc))

        kafka_future.add_callback(ok)
        kafka_future.add_errback(failed)
        await done

    async def _commit(self) -> None:
        if not self.tracker.committable():
            return
        fault = self.settings.fault_exit_before_commit
        if fault and self.stats.results >= fault:
            # Fault injection (tests): results are in Kafka, their offsets are not committed.
            print(f"dispatcher: fault injection: SIGKILL before commit after {self.stats.results} results",
                  file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        await self._in_consumer_thread(self._commit_now, None)

    def _commit_now(self, partitions) -> None:
        """Commit the finished prefix of ``partitions`` (None: all). Runs in the consumer thread."""
        moves = self.tracker.committable()
        if partitions is not None:
            moves = {tp: off for tp, off in moves.items() if tp in set(partitions)}
        if not moves:
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in moves.items()})
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit of %s failed (%s); the records will be redelivered", moves, exc)
            return
        for tp, off in moves.items():
            self.tracker.committed(tp, off)

    # -- shutdown --------------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if self._tasks:
            log.info("finishing %d windows in flight", len(self._tasks))
            await asyncio.wait(self._tasks, timeout=self.settings.request_timeout_s)
        if self.consumer is not None:
            await self._in_consumer_thread(self._commit_now, None)
            await self._in_consumer_thread(self.consumer.close, autocommit=False)
        if self.producer is not None:
            await self._in_consumer_thread(self.producer.close, timeout=10)
        await self.pool.close()
        self._consumer_thread.shutdown(wait=False)
        log.info("dispatcher stopped: %s", self.stats.line())
        print(f"dispatcher: stats {self.stats.line()}", file=sys.stderr, flush=True)

    async def _in_consumer_thread(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._consumer_thread, lambda: fn(*args, **kwargs))


async def serve(settings: DispatcherSettings) -> int:
    """Run until SIGTERM/SIGINT; the exit status."""
    stop = stop_event_on_signals()
    began = time.monotonic()
    code = await Dispatcher(settings).run(stop)
    log.info("ran %.1f s", time.monotonic() - began)
    return code
