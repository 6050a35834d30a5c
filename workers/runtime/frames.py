"""Which frames of a window the model sees, per family.

- ``linspace-int`` (VILA1.5 ``run_vila.py``): ``np.linspace(0, n-1, N, dtype=int)`` (truncates).
- ``round-linspace`` (NVILA release code): ``round(linspace(0, n-1, N))``.
- :func:`fps_indices` (NVILA HEAD with ``fps > 0``): timestamps ``0, 1/fps, ...`` (first N)
  mapped to ``int(t * video_fps)``.
A window of the ingest already holds its sampled frames; these pick the model's N
out of them when the caller asks for fewer (or more: indices then repeat).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def linspace_int(count: int, n: int) -> list[int]:
    return [int(i) for i in np.linspace(0, count - 1, n, dtype=int)]


def round_linspace(count: int, n: int) -> list[int]:
    return [int(i) for i in np.round(np.linspace(0, count - 1, n)).astype(int)]


def fps_indices(count: int, n: int, fps: float, video_fps: float) -> list[int]:
    """First ``n`` frames on a ``fps`` grid of a clip of ``count`` frames at ``video_fps``."""
    duration = count / video_fps
    times = np.arange(0, duration, 1 / fps)[:n]
    return [min(count - 1, int(t * video_fps)) for t in times]


def window_indices(count: int, wanted: int) -> list[int]:
    """The ``wanted`` frames of a window of ``count`` that the engine decodes for the model.

    Evenly spread, positions ``i * (count - 1) / (wanted - 1)`` rounded half to even in exact arithmetic
    (``round_linspace`` rounds numpy's float positions, which differ at halves: 7 * 29 / 14 = 14.5 is
    14.500000000000002 there); every frame, each once, when the window has no more than ``wanted``; the middle
    one when one is wanted (a single frame should show the window's centre).
    """
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [count // 2]
    return [round(Fraction(i * (count - 1), wanted - 1)) for i in range(wanted)]


SAMPLERS: dict[str, Callable[[int, int], list[int]]] = {
    "linspace-int": linspace_int,
    "round-linspace": round_linspace,
}


def sample(frames: Sequence[T], n: int, method: str) -> list[T]:
    """``n`` of ``frames`` chosen with ``method``; all of them when ``n`` equals their count."""
    if n == len(frames):
        return list(frames)
    if n < 1 or not frames:
        raise ValueError(f"cannot sample {n} frames out of {len(frames)}")
    return [frames[i] for i in SAMPLERS[method](len(frames), n)]


def pool_compatible(count: int, temporal_pool: int) -> int:
    """Frame count for a temporal pool of ``temporal_pool``: the largest multiple <= count, at least one pool."""
    return max(temporal_pool, count - count % temporal_pool)
