"""Ingest configuration and the small value types of the public API.

``IngestConfig`` is frozen and validated on construction: a bad value raises
``InvalidInput`` naming the field and its bound, so a CLI flag or a settings
file error is reported before any source is opened.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from core.windowing import FRAMES_PER_WINDOW, WINDOW_SECONDS
from core.errors import InvalidInput

# field -> (lowest, highest, lowest is exclusive). None values are checked by the caller.
_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "window_seconds": (0.0, 3600.0, True),
    "frames_per_window": (1, 256, False),
    "fps": (0.0, 240.0, True),
    "max_side": (16, 4096, False),
    "jpeg_quality": (1, 100, False),
    "max_seconds": (0.0, math.inf, True),
    "open_timeout_s": (0.0, 600.0, True),
    "read_timeout_s": (0.0, 600.0, True),
    "max_open_attempts": (1, 1000, False),
    "backoff_initial_s": (0.0, 600.0, True),
    "backoff_max_s": (0.0, 3600.0, True),
    "backoff_multiplier": (1.0, 100.0, False),
}
_INTEGER_FIELDS = {"frames_per_window", "max_side", "jpeg_quality", "max_open_attempts"}


@dataclass(frozen=True)
class IngestConfig:
    """How a source is cut into windows of sampled frames.

    Fields (bounds are enforced in ``__post_init__``):
      window_seconds     window length W, 0 < W <= 3600.
      stride_seconds     window start spacing S, None -> W; 0 < S <= W. S < W overlaps windows.
      frames_per_window  N frames spread uniformly over each window, 1..256, or None.
      fps                sampling rate, 0 < fps <= 240, or None. At least one of fps / N must be set.
                         Both set: frames are taken on the fps grid, and a window with more than N grid
                         samples keeps N of them, spread uniformly (N is a cap, e.g. a model's limit).
      max_side           sampled frames are resized so that max(width, height) <= max_side (16..4096);
                         the aspect ratio is kept and frames are never upscaled.
      jpeg_quality       JPEG quality of sampled frames, 1..100.
      max_seconds        stop after this many seconds of stream time (> 0), or None for the whole source.
      open_timeout_s     network sources: give up opening after this long (0 < t <= 600).
      read_timeout_s     network sources: no data for this long means stalled (0 < t <= 600).
      max_open_attempts  a source that was never opened fails after this many attempts (1..1000).
      backoff_initial_s  reconnect delay ceiling of the first retry (0 < t <= 600).
      backoff_max_s      reconnect delay ceiling cap (>= backoff_initial_s, <= 3600).
      backoff_multiplier ceiling growth per failed attempt (1..100); delays use full jitter.
    """

    window_seconds: float = WINDOW_SECONDS
    stride_seconds: float | None = None
    frames_per_window: int | None = FRAMES_PER_WINDOW
    fps: float | None = None
    max_side: int = 448
    jpeg_quality: int = 85
    max_seconds: float | None = None
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    max_open_attempts: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    backoff_multiplier: float = 2.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in ("stride_seconds", "frames_per_window", "fps", "max_seconds"):
                continue
            if f.name == "stride_seconds":
                _check(f.name, value, 0.0, float(self.window_seconds), True, integer=False)
                continue
            low, high, exclusive = _BOUNDS[f.name]
            _check(f.name, value, low, high, exclusive, integer=f.name in _INTEGER_FIELDS)
        if self.fps is None and self.frames_per_window is None:
            raise InvalidInput("fps and frames_per_window are both None: set at least one of them")
        if self.backoff_max_s < self.backoff_initial_s:
            raise InvalidInput(f"backoff_max_s must be >= backoff_initial_s ({self.backoff_initial_s}), "
                               f"got {self.backoff_max_s}")

    @property
    def stride(self) -> float:
        """The effective stride S in seconds."""
        return self.window_seconds if self.stride_seconds is None else self.stride_seconds


def _check(name: str, value: object, low: float, high: float, exclusive: bool, *, integer: bool) -> None:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise InvalidInput(f"{name} must be {kind}, got {value!r}")
    if math.isnan(value):
        raise InvalidInput(f"{name} must be {kind}, got NaN")
    op = ">" if exclusive else ">="
    if (value <= low if exclusive else value < low) or value > high:
        upper = "" if math.isinf(high) else f" and <= {high:g}"
        raise InvalidInput(f"{name} must be {op} {low:g}{upper}, got {value!r}")


@dataclass(frozen=True)
class Progress:
    """Where ingest is: ``position`` seconds of stream time done, ``duration`` for files
    (None when unknown or live), ``windows`` emitted so far, ``live`` for live sources."""

    position: float
    duration: float | None
    windows: int
    live: bool


@dataclass(frozen=True)
class SourceInfo:
    """What ``probe`` found. ``kind`` is "file", "rtsp", "http" or "hls"; ``duration`` and
    ``fps`` are None when the source does not say (always for live sources' duration)."""

    source: str
    kind: str
    live: bool
    duration: float | None
    fps: float | None
    width: int
    height: int
    codec: str
