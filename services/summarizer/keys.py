"""The Redis key schema, in one place (documented in docs/redis-schema.md).

Every key starts with ``vila:``. Per-stream keys end in a fixed suffix without ``:`` so that no
stream id, whatever it contains, can make two streams share a key.
"""
from __future__ import annotations

from dataclasses import dataclass

PREFIX = "vila:"
#: Set of every stream id the summarizer has stored something for.
STREAMS = PREFIX + "streams"
#: Redis stream of every change (timeline entry written, stream event) that Watch pushes.
UPDATES = PREFIX + "updates"


@dataclass(frozen=True)
class StreamKeys:
    """The keys of one stream."""

    stream_id: str

    def _key(self, suffix: str) -> str:
        return f"{PREFIX}stream:{self.stream_id}:{suffix}"

    @property
    def meta(self) -> str:
        """Hash: source, state, state_time, last_end, updated, seg_upto, segment_count."""
        return self._key("meta")

    @property
    def timeline(self) -> str:
        """Sorted set: window id scored by window start (time order; the id breaks ties)."""
        return self._key("timeline")

    @property
    def entries(self) -> str:
        """Hash: window id -> the timeline entry (JSON)."""
        return self._key("entries")

    @property
    def failed(self) -> str:
        """Sorted set: ids of windows that could not be analysed, scored by start."""
        return self._key("failed")

    @property
    def segments(self) -> str:
        """Sorted set: segment id (its first window id) scored by segment start."""
        return self._key("segments")

    @property
    def segment_runs(self) -> str:
        """Hash: segment id -> the segment's running state (JSON)."""
        return self._key("segment_runs")

    @property
    def summary(self) -> str:
        """Hash: the rolling summary (text, start, end, method, windows)."""
        return self._key("summary")

    @property
    def events(self) -> str:
        """Sorted set: stream events (JSON) scored by their time; redelivery adds nothing."""
        return self._key("events")
