"""Incremental, idempotent aggregation of one stream's window results."""
from __future__ import annotations

from services.aggregation.segments import merge_segments
from services.aggregation.summary import GenerateFn, summarize
from services.aggregation.timeline import entry_from_result, sort_entries
from core.types import Segment, Summary, TimelineEntry, WindowResult


class StreamAggregator:
    """Collects one stream's results; adding a window id twice keeps one entry.

    A redelivered result replaces the earlier one for the same window id (the
    newest answer wins), so at-least-once delivery never duplicates a line.
    """

    def __init__(self, stream_id: str):
        self.stream_id = stream_id
        self._entries: dict[str, TimelineEntry] = {}
        self._results: dict[str, WindowResult] = {}

    def add(self, result: WindowResult) -> bool:
        """Adds a result; returns True when its window id was new."""
        if result.stream_id != self.stream_id:
            raise ValueError(
                f"result for stream {result.stream_id!r} given to the aggregator of {self.stream_id!r}"
            )
        new = result.window_id not in self._entries
        self._entries[result.window_id] = entry_from_result(result)
        self._results[result.window_id] = result
        return new

    def __len__(self) -> int:
        return len(self._entries)

    def results(self) -> list[WindowResult]:
        return sorted(self._results.values(), key=lambda r: (r.start, r.end, r.window_id))

    def timeline(self) -> list[TimelineEntry]:
        return sort_entries(self._entries.values())

    def segments(self) -> list[Segment]:
        return merge_segments(self.timeline())

    def summary(self, generate: GenerateFn | None = None) -> Summary:
        timeline = self.timeline()
        return summarize(self.stream_id, timeline, merge_segments(timeline), generate=generate)
