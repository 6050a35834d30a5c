"""Deterministic identifiers: a replay or redelivery lands on the same entry."""
from __future__ import annotations

import hashlib
import re

from core.errors import quoted


def window_id(stream_id: str, start_seconds: float) -> str:
    """Window id from (stream id, absolute window start).

    ``start_seconds`` is the window start on the stream's own clock (media time for
    files, ``origin_unix + start`` for live sources), rounded to the millisecond so
    that float noise never produces two ids for one window.
    """
    ms = int(round(start_seconds * 1000.0))
    digest = hashlib.sha1(f"{stream_id}\x00{ms}".encode()).hexdigest()[:12]
    return f"{stream_id}:{ms}:{digest}"


STREAM_ID_RULE = "1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"
_STREAM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_WINDOW_ID = 256


def stream_id_problem(stream_id: object) -> str | None:
    """Why ``stream_id`` cannot name a stream, or None: it is a Kafka key and part of Redis keys and URLs,
    so it is ``STREAM_ID_RULE``. Every edge that takes stream ids from outside asks this."""
    if isinstance(stream_id, str) and _STREAM_ID.fullmatch(stream_id):
        return None
    return f"stream id {quoted(stream_id)} must be {STREAM_ID_RULE}"


def window_id_problem(window_id: object) -> str | None:
    """Why ``window_id`` cannot name a window, or None: 1-256 printable characters (``window_id`` makes them)."""
    if isinstance(window_id, str) and 0 < len(window_id) <= MAX_WINDOW_ID and window_id.isprintable():
        return None
    return f"window id {quoted(window_id)} must be 1-{MAX_WINDOW_ID} printable characters"


def shown(window_id: str) -> str:
    """``window_id`` for a message: as it is when it keeps the rule, quoted short when it does not."""
    return window_id if window_id_problem(window_id) is None else quoted(window_id)
