"""Summaries of a whole stream: extractive by default, model-written on request."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from services.aggregation.timeline import format_clock
from core.prompts import SUMMARY_INSTRUCTION
from core.types import Segment, Summary, TimelineEntry

log = logging.getLogger("vila.aggregation.summary")

#: ``generate(prompts) -> texts``: the model's text generation (``LocalEngine.generate`` locally, which
#: runs the engine's ``summarize_text``, as the worker's ``SummarizeText`` does in the cluster).
GenerateFn = Callable[[list[str]], list[str]]

def _span(entries: Sequence[TimelineEntry]) -> tuple[float, float]:
    if not entries:
        return 0.0, 0.0
    return min(e.start for e in entries), max(e.end for e in entries)


def pick_segments(segments: Sequence[Segment], limit: int) -> list[Segment]:
    """The ``limit`` segments that matter most, back in time order.

    Long segments and segments whose caption is unique in the stream come first;
    a caption repeated in several segments is mentioned once (its longest one).
    """
    longest: dict[str, Segment] = {}
    for s in segments:
        key = s.caption.strip().lower()
        if key and (key not in longest or (s.end - s.start) > (longest[key].end - longest[key].start)):
            longest[key] = s
    chosen = sorted(longest.values(), key=lambda s: -(s.end - s.start))[:limit]
    return sorted(chosen, key=lambda s: s.start)


def summarize_extractive(
    stream_id: str,
    entries: Sequence[TimelineEntry],
    segments: Sequence[Segment],
    *,
    limit: int = 8,
) -> Summary:
    """A summary made of the stream's own segment captions, no model needed."""
    start, end = _span(entries)
    failed = sum(1 for e in entries if e.error)
    return summarize_totals(stream_id, segments, windows=len(entries), failed=failed,
                            start=start, end=end, segment_count=len(segments), limit=limit)


def summarize_totals(
    stream_id: str,
    segments: Sequence[Segment],
    *,
    windows: int,
    failed: int,
    start: float,
    end: float,
    segment_count: int,
    limit: int = 8,
) -> Summary:
    """The extractive summary from the stream's totals and a set of its segments.

    ``summarize_extractive`` with the entries replaced by their counts and span: a store that keeps
    those totals (the summarizer) passes only its most recent segments, so one refresh costs
    O(len(segments)) however long the stream is. ``segment_count`` is the stream's total.
    """
    ok = windows - failed
    if ok <= 0:
        text = "Nothing could be analysed." if windows else "No windows yet."
    else:
        parts = [
            f"{format_clock(s.start)}–{format_clock(s.end)} {s.caption.strip() or '(no caption)'}"
            for s in pick_segments(segments, limit)
        ]
        text = (
            f"{ok} windows over {format_clock(start)}–{format_clock(end)} "
            f"in {segment_count} segments. " + "; ".join(parts) + "."
        )
        actions = [s.actions[0].label for s in segments if s.actions]
        if actions:
            common = max(set(actions), key=lambda a: (actions.count(a), a))
            text += f" Most frequent action: {common}."
    if failed:
        text += f" {failed} window(s) could not be analysed."
    return Summary(stream_id=stream_id, text=text, start=start, end=end,
                   method="extractive", windows=windows)


def timeline_prompt(segments: Sequence[Segment], instruction: str = SUMMARY_INSTRUCTION) -> str:
    lines = [f"{format_clock(s.start)}-{format_clock(s.end)}: {s.caption.strip()}" for s in segments]
    return instruction + "\n" + "\n".join(lines)


def summarize(
    stream_id: str,
    entries: Sequence[TimelineEntry],
    segments: Sequence[Segment],
    *,
    generate: GenerateFn | None = None,
    limit: int = 24,
) -> Summary:
    """The stream's summary: model-written when ``generate`` is given, else extractive.

    A model that returns empty text, or fails, falls back to the extractive
    summary (logged), so a summary always exists.
    """
    if generate is None or not segments:
        return summarize_extractive(stream_id, entries, segments)
    prompt = timeline_prompt(pick_segments(segments, limit))
    try:
        text = generate([prompt])[0].strip()
    except Exception as exc:  # a failing model must not lose the summary
        log.warning("model summary failed (%s); using the extractive summary", exc)
        text = ""
    if not text:
        return summarize_extractive(stream_id, entries, segments)
    start, end = _span(entries)
    return Summary(stream_id=stream_id, text=text, start=start, end=end,
                   method="model", windows=len(entries))
