"""Domain types shared by every stage.

These are plain frozen dataclasses: the pure stages (sampler, windower, runner,
aggregator) take and return them, and only the transport adapters convert them
to and from protobuf (see ``core.convert``). Times are float seconds.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class StreamState(enum.Enum):
    """Lifecycle of a source, as reported by ingest."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


@dataclass(frozen=True)
class Frame:
    """One sampled frame, JPEG encoded.

    ``pts`` is seconds from the start of the stream (for live sources: from the
    capture clock, never from the decoder's pts, which restart on reconnect).
    """

    jpeg: bytes
    pts: float
    width: int
    height: int


@dataclass(frozen=True)
class FrameWindow:
    """A time window of sampled frames, the unit of inference.

    ``start``/``end`` are seconds from the stream start; ``origin_unix`` is the
    wall-clock time of the stream start for live sources (0.0 for files), so the
    absolute capture time of the window is ``origin_unix + start``.
    ``partial`` marks a window cut short by the end of the stream.
    ``activity`` is the scene-change score in [0, 1] (see ``ingest.activity``).
    """

    stream_id: str
    window_id: str
    seq: int
    start: float
    end: float
    frames: tuple[Frame, ...]
    source: str = ""
    activity: float = 0.0
    origin_unix: float = 0.0
    partial: bool = False


@dataclass(frozen=True)
class ActionScore:
    label: str
    score: float


@dataclass(frozen=True)
class WindowResult:
    """What a model said about one window.

    ``error`` is empty on success; a failed window keeps its place in the
    timeline with the reason, so nothing silently disappears.
    """

    stream_id: str
    window_id: str
    seq: int
    start: float
    end: float
    caption: str
    actions: tuple[ActionScore, ...] = ()
    activity: float = 0.0
    tier: str = ""
    model_id: str = ""
    latency_ms: float = 0.0
    error: str = ""
    thumbnail_jpeg: bytes = b""

    def top_actions(self, k: int = 3) -> tuple[ActionScore, ...]:
        return tuple(sorted(self.actions, key=lambda a: -a.score)[:k])


@dataclass(frozen=True)
class TimelineEntry:
    """One window's line in a stream's timeline."""

    stream_id: str
    window_id: str
    start: float
    end: float
    caption: str
    actions: tuple[ActionScore, ...] = ()
    activity: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Segment:
    """Consecutive windows that say the same thing, merged."""

    stream_id: str
    start: float
    end: float
    caption: str
    window_ids: tuple[str, ...] = ()
    actions: tuple[ActionScore, ...] = ()


@dataclass(frozen=True)
class Summary:
    """A summary of a whole stream (or of the part seen so far)."""

    stream_id: str
    text: str
    start: float
    end: float
    method: str = "extractive"  # "extractive" or "model"
    windows: int = 0


@dataclass(frozen=True)
class StreamEvent:
    """A state change of a source (connecting, live, stalled, ...)."""

    stream_id: str
    state: StreamState
    time_unix: float
    detail: str = ""
    attempt: int = 0
    extra: dict[str, str] = field(default_factory=dict)
