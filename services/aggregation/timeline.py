"""Timeline entries from window results."""
from __future__ import annotations

from core.types import TimelineEntry, WindowResult


def entry_from_result(result: WindowResult, *, top_k: int = 3) -> TimelineEntry:
    """The timeline line for one window: its caption and its ``top_k`` actions."""
    return TimelineEntry(
        stream_id=result.stream_id,
        window_id=result.window_id,
        start=result.start,
        end=result.end,
        caption=result.caption.strip(),
        actions=result.top_actions(top_k),
        activity=result.activity,
        error=result.error,
    )


def sort_entries(entries) -> list[TimelineEntry]:
    """Time order; the window id breaks ties so the order is total and stable."""
    return sorted(entries, key=lambda e: (e.start, e.end, e.window_id))


def format_clock(seconds: float) -> str:
    """``75.25`` → ``01:15.2``; hours appear once the stream passes one."""
    seconds = max(0.0, seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h >= 1:
        return f"{int(h)}:{int(m):02d}:{s:04.1f}"
    return f"{int(m):02d}:{s:04.1f}"
