"""One source from its first connection to its end: open, read, reconnect.

``Session.frames()`` yields ``(t, av.VideoFrame)`` in stream time and reports
state changes:

* files (and VOD over http/HLS): CONNECTING -> LIVE -> (the pipeline reports ENDED).
  A damaged read is recorded in ``damage``, not raised.
* live sources (rtsp, live HLS, endless http): CONNECTING -> LIVE, then on end of
  stream, a read error or a stall (no data for ``read_timeout_s`` -> STALLED) it
  reconnects: RECONNECTING (attempt n, after a backoff delay) ... -> LIVE again.
  It goes on until ``max_seconds`` of stream time or ``stop``.

Opening fails with the typed error after ``max_open_attempts`` for a source that
never delivered a frame (only unreachable/timed-out errors are retried; a wrong
path, a text file or an unsupported codec fail at once). Once a source has been
live, every error is retried, with delays growing to ``backoff_max_s``.
``stop`` is honoured between frames and during backoff waits; a blocked read is
bounded by the read timeout.
"""
from __future__ import annotations

import threading
from typing import Iterator

import av

from core.backoff import Backoff
from ingest.config import IngestConfig
from ingest.decode import Damage, LiveClock, MediaClock, decode_frames
from ingest.events import EventReporter
from ingest.media import OpenMedia, open_media
from ingest.media_errors import is_read_timeout, is_retryable
from ingest.sources import SourceKind, display_name
from core.errors import SourceUnreachable, VilaError
from core.types import StreamState


class Session:
    """See module docstring. After ``frames()`` is exhausted: ``end`` (stream time
    at which the source ended), ``end_reason``, ``damage`` (local files), ``failure``
    (a network file whose download broke off) and ``first_media`` (what the source
    said when it was first opened)."""

    def __init__(self, source: str, kind: SourceKind, config: IngestConfig, events: EventReporter,
                 stop: threading.Event | None = None) -> None:
        self.source, self.kind, self.config, self.events = source, kind, config, events
        self.name = display_name(source)
        self.stop = stop or threading.Event()
        self.backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, config.backoff_multiplier)
        self.damage = Damage()
        self.failure: VilaError | None = None
        self.live: bool | None = kind.live
        self.clock = LiveClock()
        self.first_media: OpenMedia | None = None
        self.end = 0.0
        self.end_reason = "end of stream"
        self.ever_live = False
        self._failures = 0  # consecutive connections that gave no frame
        self._media: OpenMedia | None = None  # set by _reconnect

    # -- public --------------------------------------------------------------------------------
    @property
    def origin_unix(self) -> float:
        return self.clock.origin_unix if self.live else 0.0

    def frames(self) -> Iterator[tuple[float, av.VideoFrame | None]]:
        """``(t, frame)`` in stream time; live sources also yield ``(t, None)`` ticks
        while reconnecting (time passes, no frame)."""
        media = self._connect(detail="")
        if media is None:
            return
        self.first_media = media
        self.live = media.live
        if self.live:
            yield from self._read_live(media)
        else:
            yield from self._read_file(media)

    # -- connecting ------------------------------------------------------------------------------
    def _connect(self, detail: str) -> OpenMedia | None:
        """First connection: CONNECTING attempts per the policy above; None when stopped first."""
        attempt = 0
        while not self._stopping():
            attempt += 1
            media = self._attempt(StreamState.CONNECTING, detail, attempt)
            if isinstance(media, OpenMedia):
                return media
            detail = media
            if self.stop.wait(self.backoff.next_delay()):
                break
        self._finish_live(0.0)
        return None

    def _attempt(self, state: StreamState, detail: str, attempt: int) -> OpenMedia | str:
        """One open attempt: the media, or the error message when it may be retried."""
        self.events.emit(state, detail, attempt)
        try:
            return open_media(self.source, self.kind, self.config)
        except VilaError as error:
            if not self.ever_live:
                self._failures += 1
                if not (self.kind.network and is_retryable(error)) \
                        or self._failures >= self.config.max_open_attempts:
                    raise error from None
            return str(error)

    def _reconnect(self, detail: str) -> Iterator[tuple[float, None]]:
        """After a drop: RECONNECTING attempts with backoff until open (``self._media``) or stopped.

        Yields ``(now, None)`` ticks between attempts, so windows whose time has
        passed are closed during an outage instead of after it.
        """
        attempt = 0
        self._media = None
        while True:
            yield self._now(), None
            if self._stopping() or self.stop.wait(self.backoff.next_delay()) or self._stopping():
                self._finish_live(self._now())
                return
            attempt += 1
            media = self._attempt(StreamState.RECONNECTING, detail, attempt)
            if isinstance(media, OpenMedia):
                self._media = media
                return
            detail = media

    def _stopping(self) -> bool:
        if self.stop.is_set():
            return True
        now = self.clock.now()
        return self.config.max_seconds is not None and now is not None and now >= self.config.max_seconds

    def _now(self) -> float:
        """Stream time now: the wall clock, but never before the last frame."""
        return max(self.clock.now() or 0.0, self.clock.last or 0.0)

    # -- reading -----------------------------------------------------------------------------------
    def _read_file(self, media: OpenMedia) -> Iterator[tuple[float, av.VideoFrame]]:
        self.events.emit(StreamState.LIVE, "opened", 1)
        clock = MediaClock(media)
        limit = self.config.max_seconds
        try:
            for frame in decode_frames(media, self.damage):
                if self.stop.is_set():
                    self.end_reason = "stopped"
                    break
                expected = clock.end() if clock.last is not None else None
                duration = clock.last_duration
                t = clock.time(frame)
                if t is None:
                    continue
                if clock.gap_before(t, expected, duration):
                    self.damage.note_gap(expected, t)
                if limit is not None and t >= limit:
                    self.end_reason = "max_seconds reached"
                    break
                yield t, frame
        except (av.error.FFmpegError, OSError) as exc:
            # Keep what was decoded; the pipeline raises after the last window.
            reason = getattr(exc, "strerror", None) or str(exc)
            if self.kind.network:
                self.failure = SourceUnreachable(f"{self.name}: download broke off at {clock.end():.1f} s ({reason})")
            else:
                self.damage.stopped = f"reading stopped at {clock.end():.1f} s ({reason})"
        finally:
            media.close()
        self.end = clock.end() if self.end_reason != "max_seconds reached" else float(limit)

    def _read_live(self, media: OpenMedia) -> Iterator[tuple[float, av.VideoFrame | None]]:
        while True:
            got_frame = False
            detail = "end of stream"
            self.clock.new_connection()
            limit = self.config.max_seconds
            try:
                for frame in decode_frames(media, self.damage):
                    if not got_frame:
                        got_frame, self.ever_live, self._failures = True, True, 0
                        self.backoff.reset()
                        self.events.emit(StreamState.LIVE, "receiving frames")
                    t = self.clock.time(frame, media.stream.time_base)
                    if self._stopping() or (limit is not None and t >= limit):
                        self._finish_live(t)
                        return
                    yield t, frame
            except (av.error.FFmpegError, OSError) as exc:
                if is_read_timeout(exc):
                    detail = f"no data for {self.config.read_timeout_s:g} s"
                    self.events.emit(StreamState.STALLED, detail)
                else:
                    detail = f"read error ({getattr(exc, 'strerror', None) or exc})"
            finally:
                media.close()
            if not got_frame and not self.ever_live:
                self._failures += 1
                if self._failures >= self.config.max_open_attempts:
                    raise SourceUnreachable(f"{self.name}: connected but no video frames arrived ({detail})")
            yield from self._reconnect(detail)
            if self._media is None:
                return
            media = self._media

    def _finish_live(self, now: float) -> None:
        """Record why and when a live source (or a connection attempt) ended.

        ``now`` is after every frame yielded so far; frames at or past max_seconds
        were never yielded, so the end may be cut to max_seconds."""
        self.end_reason = "stopped" if self.stop.is_set() else "max_seconds reached"
        limit = self.config.max_seconds
        self.end = min(now, limit) if (limit is not None and self.end_reason != "stopped") else now
