"""One stream: a reader thread (decode -> windows) and a sender thread (windows -> Kafka).

Between them sits a bounded queue (``core.queues.BoundedQueue``, the local pipeline's).
The sender delivers one window at a time (``core.transport.kafka_delivery``: held and sent again until
Kafka acknowledges it, however long Kafka is away), so the queue is the only buffer: when Kafka is slow
or gone, it fills. A live source then drops its oldest window and counts
it (a camera cannot wait; the decoder is never stalled); a file waits for room instead, unless
``file_backpressure`` is off. Every state change of the source goes to ``vila.events.v1`` with the
stream's counters in ``extra`` (``published``, ``dropped``, ``failed``), so drops are visible
downstream. A window counts as ``failed`` only when Kafka refused it for good (too large), and as
``unsent`` when the process was stopped before Kafka took it; the reader's own reconnect loop (``ingest.session``) handles cameras that drop out.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import ingest
from ingest.service.resume import FileMark, progress_record
from ingest.service.streams import StreamSpec
from ingest.sources import resolve
from core.queues import BoundedQueue
from core import topics
from core.errors import BrokerUnavailable, RecordRefused, VilaError
from core.types import FrameWindow, StreamEvent
from core.transport import kafka as kt
from core.transport.kafka_delivery import Delivery

log = logging.getLogger("vila.ingest")


@dataclass
class StreamStats:
    """Counters of one stream (read by progress displays; written by its two threads)."""

    stream_id: str
    windows: int = 0    # built by the reader
    published: int = 0  # acknowledged by Kafka
    dropped: int = 0    # discarded by the full queue (live sources)
    failed: int = 0     # refused by Kafka for good (too large for the topic, ...)
    unsent: int = 0     # not yet acknowledged when the process was stopped
    skipped: int = 0    # a file's windows an earlier run published (``resume``): cut again, not published
    state: str = "starting"
    position: float = 0.0
    duration: float | None = None
    error: VilaError | None = None
    done: bool = False

    def line(self) -> str:
        return (f"{self.stream_id}: state={self.state} windows={self.windows} published={self.published} "
                f"dropped={self.dropped} failed={self.failed}" + (f" unsent={self.unsent}" if self.unsent else "")
                + (f" skipped={self.skipped}" if self.skipped else ""))


@dataclass(frozen=True)
class _End:
    pass


class StreamPublisher:
    """Runs one ``StreamSpec`` into Kafka with ``delivery`` (shared by all streams of the process).

    ``stop`` ends the reader (the sender still delivers what is queued); ``abandon`` ends the wait for
    Kafka too: what is left counts as ``unsent``.
    """

    def __init__(self, spec: StreamSpec, delivery: Delivery, *, queue_size: int, file_backpressure: bool,
                 on_change: Callable[[StreamStats], None] | None = None, mark: FileMark | None = None,
                 published_through: int | None = None) -> None:
        """``mark``: the local file's identity (progress is recorded for it); ``published_through``: the
        last window seq an earlier run published of it (those are skipped)."""
        self.spec, self.delivery = spec, delivery
        self.mark, self.published_through = mark, published_through
        self.on_change = on_change
        live = resolve(spec.source).live is not False  # rtsp, and http/HLS that may turn out live
        self.queue: BoundedQueue[FrameWindow | _End] = BoundedQueue(
            queue_size, drop_oldest=live or not file_backpressure)
        self.stats = StreamStats(spec.stream_id)
        self.stop = threading.Event()
        self.abandon = threading.Event()
        self._threads = [threading.Thread(target=self._read, name=f"read {spec.stream_id}", daemon=True),
                         threading.Thread(target=self._send, name=f"send {spec.stream_id}", daemon=True)]
        self._last_drop_log = 0.0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for both threads; True when they finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    # -- reader ----------------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            for window in ingest.iter_windows(self.spec.source, self.spec.stream_id, self.spec.ingest,
                                              on_event=self._event, on_progress=self._progress, stop=self.stop):
                self.stats.windows += 1
                if self.published_through is not None and window.seq <= self.published_through:
                    self.stats.skipped += 1
                    continue
                if not self.queue.put(window, stop=self.stop):
                    break
                self._note_drops()
        except VilaError as error:
            self.stats.error = error
            log.error("stream %s: %s", self.spec.stream_id, error)
        except Exception as exc:  # noqa: BLE001 - a bug in one stream must not take the others down
            self.stats.error = VilaError(f"{type(exc).__name__}: {exc}")
            log.exception("stream %s failed", self.spec.stream_id)
        finally:
            self.queue.put_final(_End())

    def _note_drops(self) -> None:
        dropped = self.queue.dropped
        if dropped != self.stats.dropped:
            self.stats.dropped = dropped
            now = time.monotonic()
            if now - self._last_drop_log >= 5.0:
                self._last_drop_log = now
                log.warning("stream %s: Kafka is slower than the source: %d window(s) dropped so far",
                            self.spec.stream_id, dropped)
            self._changed()

    def _event(self, event: StreamEvent) -> None:
        self.stats.state = event.state.value
        counters = {"published": str(self.stats.published), "dropped": str(self.queue.dropped),
                    "failed": str(self.stats.failed)}
        event = dataclasses.replace(event, extra={**event.extra, **counters})
        # not waited for: events are small and never dropped by the window queue
        self.delivery.send(topics.EVENTS, key=kt.stream_key(event.stream_id), value=kt.encode_event(event))
        self._changed()

    def _progress(self, progress: ingest.Progress) -> None:
        self.stats.position, self.stats.duration = progress.position, progress.duration
        self._changed()

    # -- sender ----------------------------------------------------------------------------------
    def _send(self) -> None:
        try:
            while True:
                item = self.queue.get(timeout=0.2)
                if item is None:
                    continue
                if isinstance(item, _End):
                    break
                self._publish(item)
        finally:
            self.stats.dropped = self.queue.dropped
            self.stats.done = True
            self._changed()

    def _publish(self, window: FrameWindow) -> None:
        try:
            delivered = self.delivery.deliver(topics.WINDOWS, key=kt.stream_key(window.stream_id),
                                              value=kt.encode_window(window), stop=self.abandon)
        except RecordRefused as error:
            self.stats.failed += 1
            self.stats.error = self.stats.error or error
            log.error("stream %s: window %s not published: %s", window.stream_id, window.window_id, error)
        else:
            if delivered:
                self.stats.published += 1
                if self.mark is not None:
                    self.delivery.send(topics.INGEST_PROGRESS, key=kt.stream_key(window.stream_id),
                                       value=progress_record(self.mark, window.seq, window.end))
            else:
                self.stats.unsent += 1
        self._changed()

    def unsent_error(self) -> BrokerUnavailable | None:
        """What to exit with when windows were left unacknowledged at the stop."""
        if not self.stats.unsent:
            return None
        return BrokerUnavailable(f"stream {self.spec.stream_id}: {self.stats.unsent} window(s) not published: "
                                 f"Kafka at {self.delivery.bootstrap} had not acknowledged them when ingest stopped")

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change(self.stats)
            except Exception:  # noqa: BLE001 - a broken display must not stop ingest
                log.exception("progress callback failed")
