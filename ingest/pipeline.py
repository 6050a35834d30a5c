"""``iter_windows``: session -> assembler -> FrameWindow, with events and progress.

Start-up, in order: resolve the source kind; open a session (connect, with
retries for network sources); build the window assembler from what the source
said (duration, pixel aspect); then per decoded frame: push it into the
assembler, turn closed windows into ``FrameWindow``s, report progress. At the
end: the last (partial) windows, the final progress, ENDED, and, for a damaged
file, ``CorruptMedia`` after the last window.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterator

import av

from ingest.activity import activity_score
from ingest.config import IngestConfig, Progress
from ingest.encode import FrameEncoder, Sampled
from ingest.events import EventReporter, log
from ingest.session import Session
from ingest.sources import display_name, resolve
from ingest.windower import AssembledWindow, WindowAssembler
from core.errors import CorruptMedia, InvalidInput, SourceError, VilaError
from core.ids import window_id
from core.types import FrameWindow, StreamEvent, StreamState

PROGRESS_EVERY_S = 0.5  # of stream time: often enough for a progress bar, rare enough to be free


def iter_windows(source: str, stream_id: str, config: IngestConfig, *,
                 on_event: Callable[[StreamEvent], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 stop: threading.Event | None = None) -> Iterator[FrameWindow]:
    """Windows of sampled JPEG frames from ``source``, in order (a generator).

    source: a file path, rtsp://, http(s):// or an .m3u8 URL. stream_id: names the
    stream in windows, ids and events. on_event: receives every StreamState change
    (connecting, live, stalled, reconnecting, ended). on_progress: receives a
    ``Progress`` about every 0.5 s of stream time and after each window. stop: set
    it to end the stream; the generator returns promptly (a blocked network read
    within ``read_timeout_s``), yields what was built, and closes the source.

    Raises (typed, one-line messages): InvalidInput (bad config, unsupported URL),
    SourceNotFound, SourceUnreachable, NotAVideo, UnsupportedCodec, CorruptMedia
    (at open, or *after* the last window for a partly decodable file).
    """
    if not isinstance(config, IngestConfig):
        raise InvalidInput(f"config must be an IngestConfig, got {type(config).__name__}")
    if not stream_id:
        raise InvalidInput("stream_id is empty")
    kind = resolve(source)
    name = display_name(source)
    events = EventReporter(stream_id, on_event, name, kind.name)
    session = Session(source, kind, config, events, stop)
    frames = session.frames()
    builder = _WindowBuilder(stream_id, name, config, session)
    ended = False
    try:
        for t, frame in frames:
            for window in (builder.push(t, frame) if frame is not None else builder.advance(t)):
                yield window
            builder.progress(on_progress, t)
        yield from builder.finish(session.end)
        builder.progress(on_progress, session.end, force=True)
        problem = session.failure or (CorruptMedia(text) if (text := _damage(session)) else None)
        ended = True
        if problem is None:
            events.emit(StreamState.ENDED, session.end_reason, windows=builder.seq)
            return
        events.emit(StreamState.ENDED, str(problem), windows=builder.seq, error=problem.reason)
        raise problem
    except VilaError as error:
        if not ended:
            ended = True
            events.emit(StreamState.ENDED, str(error), error=error.reason)
        raise
    except av.error.FFmpegError as exc:  # a decoder/scaler failure no stage anticipated: still typed
        ended = True
        error = SourceError(f"{name}: media library error ({getattr(exc, 'strerror', None) or exc})")
        events.emit(StreamState.ENDED, str(error), error=error.reason)
        raise error from None
    except GeneratorExit:
        ended = True
        events.emit(StreamState.ENDED, "closed by the consumer", windows=builder.seq)
        raise
    finally:
        frames.close()
        if not ended:
            events.emit(StreamState.ENDED, "failed")


def _damage(session: Session) -> str | None:
    """The CorruptMedia message for a file that was not read cleanly to its end."""
    media = session.first_media
    if media is None or session.live:
        return None
    expected = media.header_duration
    if session.end_reason != "end of stream":
        expected = None  # stopped on purpose: not reaching the end is not damage
    tolerance = max(0.5, 3.0 / media.fps) if media.fps else 0.5
    return session.damage.describe(media.name, end=session.end, expected=expected, tolerance=tolerance)


class _WindowBuilder:
    """Owns the assembler (created at the first frame, when the source is known)."""

    def __init__(self, stream_id: str, name: str, config: IngestConfig, session: Session) -> None:
        self.stream_id, self.name, self.config, self.session = stream_id, name, config, session
        self.assembler: WindowAssembler | None = None
        self.seq = 0
        self._reported = -PROGRESS_EVERY_S

    def _make_assembler(self) -> WindowAssembler:
        media = self.session.first_media
        hint = None if media is None or media.live else media.duration
        if self.config.max_seconds is not None:
            hint = self.config.max_seconds if hint is None else min(hint, self.config.max_seconds)
        aspect = media.display_aspect if media is not None else None
        encoder = FrameEncoder(max_side=self.config.max_side, quality=self.config.jpeg_quality, aspect=aspect)
        return WindowAssembler(self.config.window_seconds, self.config.stride,
                               frames_per_window=self.config.frames_per_window, fps=self.config.fps,
                               convert=encoder, end_hint=hint)

    def push(self, t: float, frame) -> list[FrameWindow]:
        if self.assembler is None:
            self.assembler = self._make_assembler()
        return [self._window(w) for w in self.assembler.push(t, frame)]

    def advance(self, now: float) -> list[FrameWindow]:
        return [] if self.assembler is None else [self._window(w) for w in self.assembler.advance(now)]

    def finish(self, end: float) -> list[FrameWindow]:
        if self.assembler is None:
            return []
        return [self._window(w) for w in self.assembler.finish(end)]

    def _window(self, window: AssembledWindow) -> FrameWindow:
        items: tuple[Sampled, ...] = window.items
        origin = self.session.origin_unix
        start, end = round(window.start, 6), round(window.end, 6)
        fw = FrameWindow(
            stream_id=self.stream_id, window_id=window_id(self.stream_id, origin + start), seq=self.seq,
            start=start, end=end, frames=tuple(s.frame for s in items), source=self.name,
            activity=round(activity_score([s.thumb for s in items]), 4), origin_unix=origin,
            partial=window.partial,
        )
        self.seq += 1
        self._reported = -PROGRESS_EVERY_S  # report after every window
        return fw

    def progress(self, callback: Callable[[Progress], None] | None, position: float, force: bool = False) -> None:
        if callback is None or (not force and position - self._reported < PROGRESS_EVERY_S):
            return
        self._reported = position
        media = self.session.first_media
        live = bool(self.session.live)
        duration = None if live or media is None else media.duration
        if duration is not None and self.config.max_seconds is not None:
            duration = min(duration, self.config.max_seconds)
        try:
            callback(Progress(position=round(position, 3), duration=duration, windows=self.seq, live=live))
        except Exception:  # noqa: BLE001 - a broken progress display must not stop ingest
            log.exception("on_progress callback failed for %s", self.stream_id)
