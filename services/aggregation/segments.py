"""Merging consecutive windows that say the same thing into segments."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.types import ActionScore, Segment, TimelineEntry

_WORD = re.compile(r"[a-z0-9]+")


def normalise(caption: str) -> tuple[str, ...]:
    """Lower-case words without punctuation: what two captions are compared on."""
    return tuple(_WORD.findall(caption.lower()))


def same_meaning(a: str, b: str, *, threshold: float = 1.0) -> bool:
    """Whether two captions say the same thing.

    Equal word sequences always match. Below ``threshold`` = 1.0 the word sets'
    Jaccard similarity must reach ``threshold`` (0.8 tolerates a changed article).
    Empty captions never match anything: a window the model said nothing about
    is its own segment, never silently folded into a neighbour.
    """
    wa, wb = normalise(a), normalise(b)
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    if threshold >= 1.0:
        return False
    sa, sb = set(wa), set(wb)
    return len(sa & sb) / len(sa | sb) >= threshold


def mean_actions(entries: Sequence[TimelineEntry], top_k: int = 3) -> tuple[ActionScore, ...]:
    """Mean score per label over the entries (a label absent from a window counts 0)."""
    totals: dict[str, float] = defaultdict(float)
    for e in entries:
        for a in e.actions:
            totals[a.label] += a.score
    n = max(1, len(entries))
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
    return tuple(ActionScore(label, total / n) for label, total in ranked)


@dataclass
class SegmentRun:
    """One segment while it grows: what ``merge_segments`` keeps per run, in a form a store can save and resume.

    It keeps per-label score totals instead of the entries, so extending it costs O(labels) however
    long the segment gets (the summarizer stores it in Redis and extends it window by window).
    ``last_window``/``last_start`` name the newest window in it; the window ids in between are the
    timeline's successful entries from ``first_window`` to ``last_window``.
    """

    stream_id: str
    start: float
    end: float
    caption: str
    first_window: str
    last_window: str
    last_start: float
    count: int = 1
    totals: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, entry: TimelineEntry) -> "SegmentRun":
        run = cls(stream_id=entry.stream_id, start=entry.start, end=entry.end, caption=entry.caption,
                  first_window=entry.window_id, last_window=entry.window_id, last_start=entry.start,
                  count=1, totals={})
        run._add_actions(entry)
        return run

    def accepts(self, entry: TimelineEntry, *, same: Callable[[str, str], bool] = same_meaning,
                max_gap: float = 0.5) -> bool:
        """Whether ``entry`` (the next successful window in time order) extends this segment.

        It must say the same thing (``same``) and start no later than ``max_gap`` seconds after the
        segment ends (overlapping windows always qualify; a reconnect gap breaks the segment).
        """
        return same(self.caption, entry.caption) and entry.start <= self.end + max_gap

    def add(self, entry: TimelineEntry) -> None:
        self.end = max(self.end, entry.end)
        self.last_window = entry.window_id
        self.last_start = entry.start
        self.count += 1
        self._add_actions(entry)

    def _add_actions(self, entry: TimelineEntry) -> None:
        for a in entry.actions:
            self.totals[a.label] = self.totals.get(a.label, 0.0) + a.score

    def actions(self, top_k: int = 3) -> tuple[ActionScore, ...]:
        """Mean score per label over the segment's windows (as ``mean_actions``)."""
        n = max(1, self.count)
        ranked = sorted(self.totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        return tuple(ActionScore(label, total / n) for label, total in ranked)

    def segment(self, window_ids: Sequence[str]) -> Segment:
        return Segment(stream_id=self.stream_id, start=self.start, end=self.end, caption=self.caption,
                       window_ids=tuple(window_ids), actions=self.actions())


def merge_segments(
    entries: Sequence[TimelineEntry],
    *,
    same: Callable[[str, str], bool] = same_meaning,
    max_gap: float = 0.5,
) -> list[Segment]:
    """Segments from time-ordered timeline entries.

    A window joins the current segment when it says the same thing (``same``) and
    starts no later than ``max_gap`` seconds after the segment ends (overlapping
    windows always qualify; a reconnect gap on a live camera breaks the segment).
    Windows that failed (``error`` set) are left out of segments: they stay in the
    timeline with their reason. Segment captions are the first window's caption.
    """
    segments: list[Segment] = []
    run: SegmentRun | None = None
    ids: list[str] = []
    for entry in entries:
        if entry.error:
            continue
        if run is not None and run.accepts(entry, same=same, max_gap=max_gap):
            run.add(entry)
            ids.append(entry.window_id)
            continue
        if run is not None:
            segments.append(run.segment(ids))
        run, ids = SegmentRun.open(entry), [entry.window_id]
    if run is not None:
        segments.append(run.segment(ids))
    return segments
