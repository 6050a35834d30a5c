"""Cut a time-ordered stream of frames into windows of sampled frames (pure).

Geometry: window k is [k*S, k*S + W) in seconds from the stream start (W window
length, S stride, S <= W; S < W overlaps). For a stream that ends at D:

* windows 0..K are emitted, K = max(0, ceil((D - W) / S)): the first window that
  reaches the end is the last one, so no trailing window merely repeats the tail
  of an overlapping predecessor;
* the last window is partial (``partial=True``, ``end = D``) when k*S + W > D;
  a stream shorter than W is exactly one partial window [0, D);
* together the windows cover [0, D); a window that received no frame at all
  (a live source's outage) is not emitted.

``WindowAssembler`` is fed frames one at a time (``push``) and returns the windows
that closed; ``advance(now)`` closes windows whose end passed while no frame came (a live
outage); ``finish(D)`` returns the rest. Frames are opaque to it: it calls
``convert(frame, t)`` exactly once for each frame chosen by any window (the
expensive resize + JPEG path) and never for the others.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ingest.sampler import pick_nearest, window_targets

_EPS = 1e-9


def last_window_index(duration: float, window_s: float, stride_s: float) -> int:
    """K: index of the last window of a stream of ``duration`` seconds."""
    return max(0, math.ceil((duration - window_s) / stride_s - _EPS))


def window_bounds(index: int, window_s: float, stride_s: float) -> tuple[float, float]:
    start = index * stride_s
    return start, start + window_s


@dataclass(frozen=True)
class AssembledWindow:
    """A closed window: its index k, bounds and the converted frames in time order."""

    index: int
    start: float
    end: float
    partial: bool
    items: tuple[Any, ...]


@dataclass
class _OpenWindow:
    index: int
    start: float
    end: float
    targets: list[float]
    picked: dict[int, tuple[float, Any]] = field(default_factory=dict)  # frame serial -> (t, converted)


class WindowAssembler:
    """Stateful window builder (see module docstring).

    window_s, stride_s: W and S. frames_per_window, fps: the sampling policy
    (``ingest.sampler``). convert(frame, t) -> item: called once per chosen frame.
    end_hint: the expected stream end (file duration, max_seconds) used only to
    spread the targets of the last, partial window over the part that exists.
    Frames must be pushed with strictly increasing t >= 0.
    """

    def __init__(self, window_s: float, stride_s: float, *, frames_per_window: int | None, fps: float | None,
                 convert: Callable[[Any, float], Any], end_hint: float | None = None) -> None:
        if not 0 < stride_s <= window_s:
            raise ValueError("need 0 < stride <= window")
        self.window_s, self.stride_s = float(window_s), float(stride_s)
        self.frames_per_window, self.fps = frames_per_window, fps
        self.end_hint = end_hint
        self._convert = convert
        self._open: list[_OpenWindow] = []
        self._next_index = 0
        self._serial = 0
        self._prev: tuple[int, float, Any] | None = None  # (serial, t, frame)
        self._cache: dict[int, Any] = {}  # serial -> converted, for the last two frames only
        self.last_time: float | None = None

    def push(self, t: float, frame: Any) -> list[AssembledWindow]:
        """Add the next frame at stream time ``t``; returns the windows it closed (in order)."""
        if self.last_time is not None and t <= self.last_time:
            raise ValueError(f"frame times must increase: {t} after {self.last_time}")
        self._serial += 1
        cur = (self._serial, t, frame)
        self._open_until(t)
        for window in self._open:
            self._resolve(window, upto=t, cur=cur)
        closed = [w for w in self._open if w.end <= t + _EPS]
        self._open = [w for w in self._open if w.end > t + _EPS]
        self._prev = cur
        self.last_time = t
        self._cache = {k: v for k, v in self._cache.items() if k >= self._serial - 1}
        return [self._close(w, w.end, partial=False) for w in closed if w.picked]

    def advance(self, now: float) -> list[AssembledWindow]:
        """No frame, but stream time has reached ``now`` (a live source's outage):
        close the windows that ended by then, with the frames they already had."""
        closed = [w for w in self._open if w.end <= now + _EPS]
        if not closed:
            return []
        for window in closed:
            self._resolve(window, upto=math.inf, cur=None)
        self._open = [w for w in self._open if w.end > now + _EPS]
        return [self._close(w, w.end, partial=False) for w in closed if w.picked]

    def finish(self, end: float) -> list[AssembledWindow]:
        """The stream ended at ``end`` seconds: resolve what is pending, return the last windows."""
        last = last_window_index(end, self.window_s, self.stride_s)
        done = []
        for window in self._open:
            if window.index > last or window.start >= end - _EPS:
                continue  # a trailing window that would only repeat a tail: never converted
            # Instants past the end (a partial window planned longer than the stream
            # turned out) are served by the last frame, so the tail is never lost.
            self._resolve(window, upto=math.inf, cur=None)
            if not window.picked:
                continue
            partial = window.end > end + 1e-6
            done.append(self._close(window, min(window.end, end), partial=partial))
        self._open = []
        return done

    # -- internals -------------------------------------------------------------------------
    def _open_until(self, t: float) -> None:
        """Open every window whose start is <= t (after a gap, several at once)."""
        while self._next_index * self.stride_s <= t + _EPS:
            start, end = window_bounds(self._next_index, self.window_s, self.stride_s)
            planned = end
            if self.end_hint is not None and start < self.end_hint < end:
                planned = self.end_hint
            targets = window_targets(start, planned, frames_per_window=self.frames_per_window, fps=self.fps)
            self._open.append(_OpenWindow(self._next_index, start, end, targets))
            self._next_index += 1

    def _resolve(self, window: _OpenWindow, *, upto: float, cur: tuple[int, float, Any] | None) -> None:
        """Serve each target <= ``upto`` by the nearer of the previous and the current frame."""
        prev = self._prev
        before = (prev[1], prev) if prev else None
        after = (cur[1], cur) if cur else None
        while window.targets and window.targets[0] <= upto:
            target = window.targets.pop(0)
            chosen = pick_nearest(target, before, after, window.start, window.end)
            if chosen is None:
                continue
            serial, t, frame = chosen[1]
            if serial not in window.picked:
                if serial not in self._cache:
                    self._cache[serial] = self._convert(frame, t)
                window.picked[serial] = (t, self._cache[serial])

    def _close(self, window: _OpenWindow, end: float, *, partial: bool) -> AssembledWindow:
        items = tuple(item for _, (_, item) in sorted(window.picked.items()))
        return AssembledWindow(window.index, window.start, end, partial, items)
