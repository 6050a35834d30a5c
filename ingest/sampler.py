"""Which instants of a window to sample (pure).

Two policies, chosen by ``IngestConfig``:

* ``frames_per_window = N`` (fps None): N instants spread uniformly over the
  window, at the centre of N equal slots: ``start + (i + 0.5) * (end - start) / N``.
  Centres rather than edges, so two adjacent windows never both pick the frame
  on their shared boundary.
* ``fps = r`` (N None): the global grid ``j / r`` (j = 0, 1, ...) inside the
  window. The grid is global, so overlapping windows share the same instants
  (and the same encoded frames).
* both: the fps grid, and a window holding more than N grid instants keeps N
  of them spread uniformly (N acts as a cap).

Each instant ("target") is then served by the decoded frame nearest to it that
lies inside the window (``pick_nearest``); a frame nearest to several targets
is used once, so a window from a low-frame-rate source may hold fewer than N frames.
"""
from __future__ import annotations

import math

_EPS = 1e-9


def uniform_targets(start: float, end: float, n: int) -> list[float]:
    """N slot centres in [start, end)."""
    span = end - start
    return [start + (i + 0.5) * span / n for i in range(n)]


def grid_targets(start: float, end: float, fps: float) -> list[float]:
    """Points j / fps of the global grid with start <= j / fps < end."""
    first = math.ceil(start * fps - _EPS)
    last = math.ceil(end * fps - _EPS)  # exclusive
    return [j / fps for j in range(first, last)]


def spread_pick(items: list, n: int) -> list:
    """N of ``items`` spread uniformly (all of them when there are no more than N)."""
    if len(items) <= n:
        return list(items)
    return [items[int((i + 0.5) * len(items) / n)] for i in range(n)]


def window_targets(start: float, end: float, *, frames_per_window: int | None, fps: float | None) -> list[float]:
    """The sampling instants of the window [start, end), ascending (see module docstring)."""
    if end <= start:
        return []
    if fps is None:
        if frames_per_window is None:
            raise ValueError("fps and frames_per_window are both None")
        return uniform_targets(start, end, frames_per_window)
    grid = grid_targets(start, end, fps)
    return grid if frames_per_window is None else spread_pick(grid, frames_per_window)


def pick_nearest(target: float, before: tuple[float, object] | None, after: tuple[float, object] | None,
                 start: float, end: float):
    """The frame nearest to ``target`` among the one just before and the one just after it.

    ``before``/``after`` are ``(time, frame)`` or None; only frames inside [start, end)
    qualify. Ties go to the earlier frame. Returns the chosen ``(time, frame)`` or None.
    """
    candidates = [c for c in (before, after) if c is not None and start - _EPS <= c[0] < end]
    if not candidates:
        return None
    # Rounded so that float noise does not break a tie (0.5 between 1/3 and 2/3).
    return min(candidates, key=lambda c: (round(abs(c[0] - target), 9), c[0]))
