"""Delivery to Kafka that outlives an outage of any length: ``Delivery.deliver`` holds a record until Kafka acks it.

kafka-python's producer gives up on a record after its delivery timeout (120 s), and after a long outage
it may never send again (its idempotent state is stuck on expired batches). Here every failure but a
refusal Kafka would repeat (``RecordRefused``: a record too large, a bad topic) leads to a new try, after a
jittered backoff, on a fresh producer once Kafka answers again. Memory stays bounded because callers
deliver one record at a time (or a bounded number: the dispatcher's records in flight), and they stop
taking input while they wait: that is the backpressure.

    delivery = Delivery(bootstrap, client_id="vila-ingest")       # BrokerUnavailable if Kafka is not there
    delivery.deliver(topic, key=k, value=v, stop=event)           # True when acked, False if stopped first
    await delivery.deliver_async(topic, key=k, value=v, stop=aio) # the same on an event loop
    delivery.send(topic, key=k, value=v)                          # fire and forget (small state events)

Retries can publish a record twice when Kafka took it but the ack was lost: consumers are idempotent by
window id. No kafka-python type leaves this module.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable

from kafka import KafkaProducer
from kafka import errors as kafka_errors

from core.backoff import Backoff
from core.errors import BrokerUnavailable, RecordRefused
from core.transport.kafka import Headers, make_producer

log = logging.getLogger("vila.transport.kafka")

#: Failures that sending the same record again cannot mend.
REFUSALS = (kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError,
            kafka_errors.InvalidTopicError, kafka_errors.TopicAuthorizationFailedError,
            kafka_errors.InvalidRecordError, kafka_errors.CorruptRecordError)
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 15.0
STOP_CHECK_S = 0.2
STUCK_MARGIN_S = 2.0


class Unsettled(Exception):
    """The producer neither acknowledged nor failed a record within its delivery timeout (it is stuck)."""

    def __init__(self, waited_s: float) -> None:
        super().__init__(f"no acknowledgement and no error within {waited_s:.0f} s")


class Delivery:
    """One producer, renewed after a failed delivery (see the module docstring). Thread-safe."""

    def __init__(self, bootstrap: str, *, client_id: str, send_timeout_s: float = 30.0,
                 connect_timeout_s: float = 10.0, make: Callable[[float], KafkaProducer] | None = None) -> None:
        """``send_timeout_s``: how long the producer may hold a record before it is sent again."""
        self.bootstrap = bootstrap
        delivery_ms = int(send_timeout_s * 1000)
        timeouts = dict(delivery_timeout_ms=delivery_ms,  # the client needs it > linger + request timeout
                        request_timeout_ms=min(30_000, delivery_ms // 2),
                        max_block_ms=delivery_ms)  # send() waiting for metadata or buffer room
        self._make = make or (lambda connect_s: make_producer(bootstrap, client_id=client_id,
                                                              connect_timeout_s=connect_s, **timeouts))
        self._producer = self._make(connect_timeout_s)
        # The producer settles a record within its delivery timeout, except when it is stuck (after a long
        # outage it may keep a record unsettled for good): a try ends at this deadline either way.
        self._try_s = send_timeout_s + STUCK_MARGIN_S
        # A renewal is tried after each failed try: while Kafka is away it costs no longer than a try.
        self._renew_connect_s = min(connect_timeout_s, send_timeout_s)
        self._generation = 0
        self._lock = threading.Lock()  # the outage bookkeeping
        self._renewing = threading.Lock()
        self._renew_tried = float("-inf")
        self._down_since: float | None = None
        self.failures = 0  # tries that failed (each is followed by another)
        self.outages = 0   # how many times delivery stalled and then recovered

    # -- sending ---------------------------------------------------------------------------------
    def send(self, topic: str, *, value: bytes, key: bytes | None = None, headers: Headers | None = None) -> None:
        """Fire and forget; a failure is logged, never raised."""
        try:
            self._producer.send(topic, key=key, value=value, headers=headers)
        except Exception as exc:  # noqa: BLE001 - best effort by contract
            log.warning("record for %s not sent: %s", topic, exc)

    def deliver(self, topic: str, *, value: bytes, key: bytes | None = None, headers: Headers | None = None,
                stop: threading.Event | None = None) -> bool:
        """Blocks until Kafka acknowledged the record: True; False as soon as ``stop`` is set (the record
        may still arrive). ``RecordRefused`` when Kafka will never take it."""
        backoff, tries = Backoff(RETRY_FIRST_S, RETRY_MAX_S), 0
        stop = stop or threading.Event()
        while not stop.is_set():
            producer, generation = self._producer, self._generation
            try:
                future = producer.send(topic, key=key, value=value, headers=headers)
                settled, deadline = threading.Event(), time.monotonic() + self._try_s
                future.add_both(lambda _: settled.set())
                while not settled.wait(STOP_CHECK_S):  # returns at once on the ack; a stop is seen within 0.2 s
                    if stop.is_set():
                        return False
                    if time.monotonic() > deadline:
                        raise Unsettled(self._try_s)
                future.get()  # the producer's error, if it failed
            except Exception as exc:  # noqa: BLE001 - every failure but a refusal is a reason to try again
                tries += 1
                self._failed(topic, exc, tries)
                if stop.wait(backoff.next_delay()):  # the retry's backoff, cut short by a stop
                    return False
                self._renew(generation)
            else:
                self._delivered()
                return True
        return False

    async def deliver_async(self, topic: str, *, value: bytes, key: bytes | None = None,
                            headers: Headers | None = None, stop: asyncio.Event | None = None) -> bool:
        """``deliver`` on an event loop: the loop runs on while Kafka is away."""
        backoff, tries = Backoff(RETRY_FIRST_S, RETRY_MAX_S), 0
        stop = stop or asyncio.Event()
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                producer, generation = self._producer, self._generation
                try:
                    # send() may block (max_block_ms) for metadata or buffer room: not on the loop
                    sent = await asyncio.to_thread(producer.send, topic, key=key, value=value, headers=headers)
                    acked = asyncio.ensure_future(_acked(sent))
                    await asyncio.wait({acked, stopped}, timeout=self._try_s, return_when=asyncio.FIRST_COMPLETED)
                    if not acked.done():
                        acked.cancel()
                        if stop.is_set():
                            return False
                        raise Unsettled(self._try_s)
                    acked.result()
                except Exception as exc:  # noqa: BLE001 - as in deliver
                    tries += 1
                    self._failed(topic, exc, tries)
                    await asyncio.wait({stopped}, timeout=backoff.next_delay())  # the backoff, cut short by a stop
                    if stop.is_set():
                        return False
                    await asyncio.to_thread(self._renew, generation)
                else:
                    self._delivered()
                    return True
            return False
        finally:
            stopped.cancel()

    def close(self, timeout: float = 10.0) -> None:
        """Flush what was sent and close; a Kafka that is away cannot lose more than the unsent events."""
        try:
            self._producer.flush(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - at the end, the window counters say what was acked
            log.warning("flush at close failed: %s", exc)
        self._producer.close(timeout=timeout)

    # -- outage bookkeeping ------------------------------------------------------------------------
    def _failed(self, topic: str, exc: Exception, tries: int) -> None:
        if isinstance(exc, REFUSALS):
            raise RecordRefused(f"Kafka refused a record for {topic}: {exc}") from exc
        log.info("try %d of a record for %s failed (%s); trying again", tries, topic, type(exc).__name__)
        with self._lock:
            self.failures += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("Kafka at %s is not taking records (%s: %s); holding them until it is back",
                            self.bootstrap, type(exc).__name__, exc)

    def _delivered(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                log.warning("Kafka at %s takes records again after %.0f s", self.bootstrap,
                            time.monotonic() - self._down_since)
                self._down_since = None
                self.outages += 1

    def _renew(self, generation: int) -> None:
        """A fresh producer in place of the one of ``generation``: once, by whichever sender asks first, and
        not again within a connect timeout (while Kafka is away each attempt costs that long; the others
        go on with their tries meanwhile). The old one stays while Kafka does not answer."""
        if not self._renewing.acquire(blocking=False):
            return
        try:
            now = time.monotonic()
            if generation != self._generation or now - self._renew_tried < self._renew_connect_s:
                return
            self._renew_tried = now
            try:
                fresh = self._make(self._renew_connect_s)
            except BrokerUnavailable:
                return
            old, self._producer = self._producer, fresh
            self._generation += 1
        finally:
            self._renewing.release()
        _discard(old)  # its pending records fail, and their senders try again on the fresh one


def _discard(producer: KafkaProducer) -> None:
    """Close at once. kafka-python's ``close(0)`` flushes first and raises while records are pending, before
    it stops its sender thread (3.0.12): then stop that thread as ``close`` would have, or it lingers."""
    try:
        producer.close(timeout=0)
    except kafka_errors.KafkaError:
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()


async def _acked(kafka_future) -> object:
    """Waits on the event loop until Kafka acknowledged the record (raises the producer's error)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(fn, value) -> None:
        loop.call_soon_threadsafe(lambda: done.done() or fn(value))

    kafka_future.add_callback(lambda metadata: settle(done.set_result, metadata))
    kafka_future.add_errback(lambda exc: settle(done.set_exception, exc))
    return await done
