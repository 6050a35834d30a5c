"""Windowing defaults shared by the stages that cut windows and the tier that shows them to the model.

Ingest (the service and ``analyze``) cuts ``WINDOW_SECONDS``-long windows of ``FRAMES_PER_WINDOW`` frames;
the edge tier gives the model that many. It is the embedded default model's ``num_video_frames``, so with
default settings the cluster and ``analyze`` sample the same frames and a worker thins out nothing.
"""
from __future__ import annotations

import math

from core.errors import quoted
from core.ids import stream_id_problem, window_id_problem
from core.types import FrameWindow, WindowResult

WINDOW_SECONDS = 8.0
FRAMES_PER_WINDOW = 4


def span_problem(start: float, end: float) -> str | None:
    """Why ``[start, end]`` (seconds) cannot be a window's span, or None: both finite, ``0 <= start <= end``.

    Every edge that takes windows or results from outside (Kafka records, gRPC requests) asks this, so no
    NaN, infinite, negative or reversed time reaches a store, a timeline or a clock display.
    """
    for name, value in (("start", start), ("end", end)):
        if not math.isfinite(value):
            return f"{name} {value!r} is not a finite number of seconds"
    if start < 0:
        return f"start {start!r} is negative"
    if end < start:
        return f"end {end!r} is before start {start!r}"
    return None


def window_problem(window: FrameWindow, *, ids_optional: bool = False) -> str | None:
    """Why ``window`` (from outside: a record, a request) cannot be analysed, or None: ids by their rules
    (``core.ids``; with ``ids_optional``, as a direct API caller sends it, an id may also be empty), a possible
    span, activity in [0, 1]. Its frames are the engine's to judge (the one rule of both modes)."""
    stream_id, window_id = window.stream_id, window.window_id
    return ((None if ids_optional and not stream_id else stream_id_problem(stream_id))
            or (None if ids_optional and not window_id else window_id_problem(window_id))
            or span_problem(window.start, window.end) or _unit_problem("activity", window.activity))


def result_problem(result: WindowResult) -> str | None:
    """Why ``result`` (from a record) cannot be stored, or None: ids, span, activity in [0, 1], finite scores."""
    return (stream_id_problem(result.stream_id) or window_id_problem(result.window_id)
            or span_problem(result.start, result.end) or _unit_problem("activity", result.activity)
            or next((f"score {a.score!r} of {quoted(a.label)} is not a finite number" for a in result.actions
                     if not math.isfinite(a.score)), None))


def _unit_problem(name: str, value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else f"{name} {value!r} is not in [0, 1]"
