"""Merging consecutive windows that say the same thing into segments."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence

from services.core.types import ActionScore, Segment, TimelineEntry

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
    run: list[TimelineEntry] = []

    def close() -> None:
        if run:
            segments.append(
                Segment(
                    stream_id=run[0].stream_id,
                    start=run[0].start,
                    end=max(e.end for e in run),
                    caption=run[0].caption,
                    window_ids=tuple(e.window_id for e in run),
                    actions=mean_actions(run),
                )
            )
            run.clear()

    for entry in entries:
        if entry.error:
            continue
        if run and (
            not same(run[0].caption, entry.caption)
            or entry.start > max(e.end for e in run) + max_gap
        ):
            close()
        run.append(entry)
    close()
    return segments
