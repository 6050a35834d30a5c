"""Deterministic identifiers: a replay or redelivery lands on the same entry."""
from __future__ import annotations

import hashlib


def window_id(stream_id: str, start_seconds: float) -> str:
    """Window id from (stream id, absolute window start).

    ``start_seconds`` is the window start on the stream's own clock (media time for
    files, ``origin_unix + start`` for live sources), rounded to the millisecond so
    that float noise never produces two ids for one window.
    """
    ms = int(round(start_seconds * 1000.0))
    digest = hashlib.sha1(f"{stream_id}\x00{ms}".encode()).hexdigest()[:12]
    return f"{stream_id}:{ms}:{digest}"
