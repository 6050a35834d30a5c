"""The dispatcher process: ``python -m services.dispatcher``.

``Dispatcher.run()`` is the start-up, in order:

1. create the topics if missing (``ensure_topics``);
2. open the results producer (idempotent, acks=all) and the worker channels;
3. join the consumer group on ``vila.windows.v1`` (manual commits);
4. print ``ready ...`` on stderr once partitions are assigned;
5. loop: take records while fewer than ``max_in_flight`` are being processed, handle each in its
   own task (decode -> route -> worker -> maybe escalate -> produce), and commit, per partition,
   up to the lowest offset whose outcome Kafka has not yet acknowledged (``OffsetTracker``).

On SIGTERM: stop taking records, let in-flight ones finish, commit, close, exit 0. A window whose
handling fails (a bad record, a worker's refusal, even a bug: see ``handler``) is dead-lettered and the
stream goes on. While Kafka is away, each outcome is held and sent again until Kafka takes it
(``core.transport.kafka_delivery``); with every ``max_in_flight`` slot waiting, no more records are
taken, so an outage of any length costs no window and bounded memory. An outcome still unsent at the
stop stays uncommitted, so the next run redoes it.

All consumer calls run on one dedicated thread (kafka-python's consumer is not thread-safe);
gRPC and the record tasks run on the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core import topics
from core.tiers import TIER_NAMES
from core.transport import kafka as kt
from core.signals import stop_event_on_signals
from core.transport.kafka_delivery import Delivery
from core.transport.kafka_group import GroupConsumer, Partition, Record
from services.dispatcher.handler import DeadLetter, Outcome, Publish, WindowHandler
from services.dispatcher.offsets import OffsetTracker
from services.dispatcher.pool import WorkerPool
from services.dispatcher.settings import DispatcherSettings

log = logging.getLogger("vila.dispatcher")

POLL_MS = 200


@dataclass
class Stats:
    results: int = 0
    escalated: int = 0
    dead_lettered: int = 0

    def line(self) -> str:
        return f"results={self.results} escalated={self.escalated} dlq={self.dead_lettered}"


class Dispatcher:
    def __init__(self, settings: DispatcherSettings) -> None:
        self.settings = settings
        self.tracker = OffsetTracker()
        self.stats = Stats()
        self.pool = WorkerPool(settings.worker_tiers(), settings.labels, settings.retry_policy(),
                               settings.request_timeout_s)
        self.handler = WindowHandler(self.pool.caption, settings.router(), settings.rule(),
                                     internal_retries=settings.internal_retries)
        self.assigned = False
        self.failed: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        self._consumer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vila-consumer")
        self.delivery: Delivery | None = None
        self.consumer = None
        self._abandon = asyncio.Event()  # set at shutdown once in-flight windows had their time

    async def run(self, stop: asyncio.Event) -> int:
        """Steps 1-5 of the module docstring until ``stop``; the exit status."""
        s = self.settings
        await self._in_consumer_thread(kt.ensure_topics, s.kafka_bootstrap)
        self.delivery = await self._in_consumer_thread(Delivery, s.kafka_bootstrap, client_id="vila-dispatcher",
                                                       send_timeout_s=s.send_timeout_s)
        self.pool.open()
        self.consumer = await self._in_consumer_thread(
            GroupConsumer.open, s.kafka_bootstrap, group_id=s.group_id, client_id="vila-dispatcher",
            topics=[topics.WINDOWS], on_revoked=self._revoked, on_assigned=self._assigned,
            session_timeout_ms=s.session_timeout_ms, heartbeat_interval_ms=max(500, s.session_timeout_ms // 6),
            # With every slot taken the loop polls again only when a window finishes, which may take all
            # of a window's tries: stay in the group that long.
            max_poll_interval_ms=max(300_000, int(s.worst_case_window_s() * 1000) + 60_000))
        announced = False
        try:
            while not stop.is_set() and self.failed is None:
                await self._take_records()
                await self._commit()
                if self.assigned and not announced:
                    announced = True
                    tiers = " ".join(f"{tier}={','.join(s.workers(tier))}" for tier in TIER_NAMES)
                    print(f"ready dispatcher group={s.group_id} kafka={s.kafka_bootstrap} {tiers} "
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
        records = await self._in_consumer_thread(self.consumer.poll, timeout_ms=POLL_MS, max_records=room)
        for record in records:
            self.tracker.start(record.partition, record.offset)
            task = asyncio.create_task(self._process(record), name=f"window {record}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _process(self, record: Record) -> None:
        try:
            outcome = await self.handler.handle(record.value)
            delivered = await self._produce(outcome, record)
        except Exception as exc:  # noqa: BLE001 - Kafka refused the outcome for good: uncommitted, stop
            log.exception("record %s could not be finished", record)
            self.failed = exc
            return
        if delivered:  # else stopped while Kafka was away: uncommitted, the next run redoes it
            self.tracker.finish(record.partition, record.offset)

    async def _produce(self, outcome: Outcome, record: Record) -> bool:
        """Publish ``outcome``; True once Kafka took it, False when stopped first."""
        if isinstance(outcome, Publish):
            result = outcome.result
            headers = [(topics.RESULT_GROUP, self.settings.group_id.encode())]
            if outcome.escalated:
                headers.append((topics.RESULT_ESCALATED, outcome.escalated.encode()))
            if not await self.delivery.deliver_async(topics.RESULTS, key=kt.stream_key(result.stream_id),
                                                     value=kt.encode_result(result), headers=headers,
                                                     stop=self._abandon):
                return False
            self.stats.results += 1
            if outcome.escalated:
                self.stats.escalated += 1
                log.info("window %s escalated to cloud: %s", result.window_id, outcome.escalated)
            return True
        assert isinstance(outcome, DeadLetter)
        headers = kt.dlq_headers(reason=outcome.reason, stage=outcome.stage, source_topic=record.topic,
                                 partition=record.partition.partition, offset=record.offset)
        if not await self.delivery.deliver_async(topics.DLQ, key=record.key, value=record.value or b"",
                                                 headers=headers, stop=self._abandon):
            return False
        self.stats.dead_lettered += 1
        log.warning("record %s -> DLQ (%s): %s", record, outcome.stage, outcome.reason)
        return True

    async def _commit(self) -> None:
        if not self.tracker.committable():
            return
        await self._in_consumer_thread(self._commit_now, None)

    def _commit_now(self, partitions: set[Partition] | None) -> None:
        """Commit the finished prefix of ``partitions`` (None: all). Runs in the consumer thread."""
        moves = self.tracker.committable()
        if partitions is not None:
            moves = {p: off for p, off in moves.items() if p in partitions}
        if moves and self.consumer.commit(moves):
            for p, off in moves.items():
                self.tracker.committed(p, off)

    def _revoked(self, revoked: set[Partition]) -> dict[Partition, int]:
        """What to commit of ``revoked`` before those partitions may move to another dispatcher: their finished
        prefix. Runs on the Kafka client's IO thread (the tracker is thread-safe); the adapter commits."""
        moves = {p: off for p, off in self.tracker.committable().items() if p in revoked}
        for p in revoked:
            self.tracker.revoke(p)
        return moves

    def _assigned(self, assigned: set[Partition]) -> None:
        log.info("assigned %s", ", ".join(str(p) for p in sorted(assigned)) or "nothing")
        self.tracker.assign(assigned)
        self.assigned = True

    # -- shutdown --------------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if self._tasks:
            log.info("finishing %d windows in flight", len(self._tasks))
            await asyncio.wait(self._tasks, timeout=self.settings.request_timeout_s)
        self._abandon.set()  # an outcome Kafka has not taken by now stays uncommitted: the next run redoes it
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self.consumer is not None:
            await self._in_consumer_thread(self._commit_now, None)
            await self._in_consumer_thread(self.consumer.close)
        if self.delivery is not None:
            await self._in_consumer_thread(self.delivery.close, timeout=10)
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
