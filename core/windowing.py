"""Windowing defaults shared by the stages that cut windows and the tier that shows them to the model.

Ingest (the service and ``analyze``) cuts ``WINDOW_SECONDS``-long windows of ``FRAMES_PER_WINDOW`` frames;
the edge tier gives the model that many. It is the embedded default model's ``num_video_frames``, so with
default settings the cluster and ``analyze`` sample the same frames and a worker thins out nothing.
"""
from __future__ import annotations

import math

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
