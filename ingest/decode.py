"""Decode the selected video stream; count the damage instead of dying of it.

``decode_frames`` yields decoded ``av.VideoFrame``s. A packet the decoder rejects
is skipped and counted; a frame the decoder had to conceal (error resilience) is
kept and counted. Errors of the *reader* (a read timeout, a dropped connection,
an unreadable byte range) propagate: whether that ends a file or triggers a
reconnect is the session's decision.

Clocks turn frames into stream time (seconds from the stream start):
``MediaClock`` from the media pts (files, VOD), ``LiveClock`` from the capture
time (live sources, whose pts restart on every reconnect), spaced by the pts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import av

from ingest.media import OpenMedia
from ingest.media_errors import is_read_timeout


@dataclass
class Damage:
    """What could not be decoded cleanly, for the CorruptMedia message."""

    packets: int = 0
    first: float | None = None
    last: float | None = None
    gaps: int = 0  # holes in the timeline: frames lost without the decoder saying so
    missing: float = 0.0  # seconds of timeline in those holes
    stopped: str | None = None  # why reading ended before the end of the file

    def note(self, t: float | None) -> None:
        self.packets += 1
        self._extend(t)

    def note_gap(self, start: float, end: float) -> None:
        self.gaps += 1
        self.missing += end - start
        self._extend(start)
        self._extend(end)

    def _extend(self, t: float | None) -> None:
        if t is not None:
            self.first = t if self.first is None else min(self.first, t)
            self.last = t if self.last is None else max(self.last, t)

    def describe(self, name: str, *, end: float, expected: float | None, tolerance: float) -> str | None:
        """One line naming the damage, or None when the file was clean."""
        parts = []
        where = f" ({self.first:.1f} s–{self.last:.1f} s)" if self.first is not None else ""
        if self.packets:
            parts.append(f"{self.packets} damaged packet(s) could not be decoded cleanly")
        if self.gaps:
            parts.append(f"{self.missing:.1f} s of frames missing in {self.gaps} gap(s)")
        if parts:
            parts[-1] += where
        if self.stopped:
            parts.append(self.stopped)
        elif expected is not None and end < expected - tolerance:
            parts.append(f"truncated: decoding stopped at {end:.1f} s of {expected:.1f} s")
        return f"{name}: " + "; ".join(parts) if parts else None


def _packet_time(packet: av.Packet, media: OpenMedia) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base) - (media.start_time or 0.0)


def decode_frames(media: OpenMedia, damage: Damage) -> Iterator[av.VideoFrame]:
    """Frames of ``media``'s video stream in presentation order (see module docstring)."""
    flushed = False
    packets = media.container.demux(media.stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except IndexError:
            # PyAV 18 bug: when damaged data makes the demuxer (MPEG-TS) add a stream
            # mid-file, demux()'s final flush indexes past its stream list. All packets
            # were read by then; flush our decoder ourselves below.
            break
        flushed = flushed or packet.size == 0
        yield from _decode(packet, media, damage)
    if not flushed:
        yield from _decode(None, media, damage)


def _decode(packet: av.Packet | None, media: OpenMedia, damage: Damage) -> Iterator[av.VideoFrame]:
    """Decode one packet (None: flush); a rejected packet is counted, not raised."""
    if packet is not None and packet.is_corrupt:
        damage.note(_packet_time(packet, media))
    try:
        # The final empty packet of demux() (or None) flushes the decoder's delayed frames.
        frames = packet.decode() if packet is not None else media.stream.codec_context.decode(None)
    except av.error.EOFError:
        return
    except av.error.FFmpegError as exc:
        if is_read_timeout(exc):
            raise
        damage.note(_packet_time(packet, media) if packet is not None else None)
        return
    for frame in frames:
        if frame.is_corrupt:
            damage.note(_frame_seconds(frame, media))
        yield frame


def _frame_seconds(frame: av.VideoFrame, media: OpenMedia) -> float | None:
    if frame.pts is None:
        return None
    return float(frame.pts * media.stream.time_base) - (media.start_time or 0.0)


class MediaClock:
    """Stream time from pts, relative to the stream's start_time.

    ``time(frame)`` returns None for frames to drop: before the start (edit-list
    pre-roll) or not after the previous frame (broken timestamps). A frame
    without pts is placed one frame duration after the previous one.
    """

    def __init__(self, media: OpenMedia) -> None:
        self.time_base = media.stream.time_base
        self.start = media.start_time
        self.default_duration = 1.0 / media.fps if media.fps else 0.0
        self.last: float | None = None
        self.last_duration = self.default_duration

    def time(self, frame: av.VideoFrame) -> float | None:
        if frame.duration and self.time_base is not None:
            self.last_duration = float(frame.duration * self.time_base)
        if frame.pts is None:
            if self.last is None:
                t = 0.0
            else:
                t = self.last + (self.last_duration or 1e-3)
        else:
            absolute = float(frame.pts * self.time_base)
            if self.start is None:
                self.start = absolute
            t = absolute - self.start
        if t < 0 or (self.last is not None and t <= self.last):
            return None
        self.last = t
        return t

    def end(self) -> float:
        """End of the last frame returned: its time plus its duration."""
        return 0.0 if self.last is None else self.last + self.last_duration

    def gap_before(self, t: float, expected: float | None, frame_duration: float) -> bool:
        """Did frames go missing between the previous frame's end ``expected`` and ``t``?

        Half a frame of slack: timestamps are rounded to the time base. Each frame
        carries its own duration, so variable-frame-rate files do not trip it.
        """
        return expected is not None and frame_duration > 0 and t - expected > 0.5 * frame_duration


class LiveClock:
    """Stream time of live sources, in seconds since the first frame ever received.

    Decoder pts cannot be the clock on their own: they restart at every reconnect
    (RTSP) or jump at discontinuities. The wall clock alone is not right either:
    an HLS player receives the live edge (several segments) in one burst, and
    network jitter bunches RTSP frames, which would squash many frames onto one
    instant. So each connection is anchored on the capture clock (the monotonic
    clock when its first frame is decoded; never before the previous frame), and
    within a connection frames are spaced by their pts. The anchor is reset when
    the pts go backwards or drift outside [wall - MAX_LAG, wall + MAX_LEAD].
    ``origin_unix`` is the wall-clock time of the first frame.
    """

    MAX_LEAD = 60.0  # s a connection may run ahead of the wall clock (an HLS live-edge burst)
    MAX_LAG = 5.0  # s it may fall behind (pts that stopped advancing)
    STEP = 1e-3  # s between frames forced apart

    def __init__(self) -> None:
        self.origin_mono: float | None = None
        self.origin_unix = 0.0
        self.last: float | None = None
        self._anchor: tuple[float, float] | None = None  # (stream time, media seconds) of this connection

    def new_connection(self) -> None:
        self._anchor = None

    def now(self) -> float | None:
        """Wall-clock seconds since the origin, or None before the first frame."""
        return None if self.origin_mono is None else time.monotonic() - self.origin_mono

    def time(self, frame: av.VideoFrame, time_base) -> float:
        if self.origin_mono is None:
            self.origin_mono, self.origin_unix = time.monotonic(), time.time()
        wall = time.monotonic() - self.origin_mono
        media = float(frame.pts * time_base) if frame.pts is not None and time_base is not None else None
        t = None
        if media is not None and self._anchor is not None:
            t = self._anchor[0] + (media - self._anchor[1])
            if not (wall - self.MAX_LAG <= t <= wall + self.MAX_LEAD) or t <= self.last:
                t = None  # re-anchor below
        if t is None:
            t = wall if self.last is None else max(wall, self.last + self.STEP)
            self._anchor = (t, media) if media is not None else None
        self.last = t
        return t
