"""Conversion between domain types and vila.v1 protobuf messages.

Transport adapters (Kafka, gRPC) call these and nothing else touches protobuf.
Every ``to_pb`` has a ``from_pb`` such that ``from_pb(to_pb(x)) == x``.
"""
from __future__ import annotations

from vila.v1 import media_pb2, results_pb2

from core.types import (
    ActionScore,
    Frame,
    FrameWindow,
    Segment,
    StreamEvent,
    StreamState,
    Summary,
    TimelineEntry,
    WindowResult,
)

_STATE_TO_PB = {
    StreamState.CONNECTING: results_pb2.STREAM_STATE_CONNECTING,
    StreamState.LIVE: results_pb2.STREAM_STATE_LIVE,
    StreamState.STALLED: results_pb2.STREAM_STATE_STALLED,
    StreamState.RECONNECTING: results_pb2.STREAM_STATE_RECONNECTING,
    StreamState.ENDED: results_pb2.STREAM_STATE_ENDED,
}
_STATE_FROM_PB = {v: k for k, v in _STATE_TO_PB.items()}


def frame_to_pb(f: Frame) -> media_pb2.Frame:
    return media_pb2.Frame(jpeg=f.jpeg, pts=f.pts, width=f.width, height=f.height)


def frame_from_pb(m: media_pb2.Frame) -> Frame:
    return Frame(jpeg=m.jpeg, pts=m.pts, width=m.width, height=m.height)


def window_to_pb(w: FrameWindow) -> media_pb2.FrameWindow:
    return media_pb2.FrameWindow(
        stream_id=w.stream_id, window_id=w.window_id, seq=w.seq, start=w.start, end=w.end,
        frames=[frame_to_pb(f) for f in w.frames], source=w.source, activity=w.activity,
        origin_unix=w.origin_unix, partial=w.partial,
    )


def window_from_pb(m: media_pb2.FrameWindow) -> FrameWindow:
    return FrameWindow(
        stream_id=m.stream_id, window_id=m.window_id, seq=m.seq, start=m.start, end=m.end,
        frames=tuple(frame_from_pb(f) for f in m.frames), source=m.source, activity=m.activity,
        origin_unix=m.origin_unix, partial=m.partial,
    )


def actions_to_pb(actions) -> list[results_pb2.ActionScore]:
    return [results_pb2.ActionScore(label=a.label, score=a.score) for a in actions]


def actions_from_pb(ms) -> tuple[ActionScore, ...]:
    return tuple(ActionScore(label=m.label, score=m.score) for m in ms)


def result_to_pb(r: WindowResult) -> results_pb2.WindowResult:
    return results_pb2.WindowResult(
        window=results_pb2.WindowRef(
            stream_id=r.stream_id, window_id=r.window_id, seq=r.seq, start=r.start, end=r.end
        ),
        tier=r.tier, model_id=r.model_id, caption=r.caption, actions=actions_to_pb(r.actions),
        activity=r.activity, latency_ms=r.latency_ms, error=r.error, thumbnail_jpeg=r.thumbnail_jpeg,
    )


def result_from_pb(m: results_pb2.WindowResult) -> WindowResult:
    w = m.window
    return WindowResult(
        stream_id=w.stream_id, window_id=w.window_id, seq=w.seq, start=w.start, end=w.end,
        caption=m.caption, actions=actions_from_pb(m.actions), activity=m.activity, tier=m.tier,
        model_id=m.model_id, latency_ms=m.latency_ms, error=m.error, thumbnail_jpeg=m.thumbnail_jpeg,
    )


def entry_to_pb(e: TimelineEntry) -> results_pb2.TimelineEntry:
    return results_pb2.TimelineEntry(
        stream_id=e.stream_id, window_id=e.window_id, start=e.start, end=e.end, caption=e.caption,
        actions=actions_to_pb(e.actions), activity=e.activity, error=e.error,
    )


def entry_from_pb(m: results_pb2.TimelineEntry) -> TimelineEntry:
    return TimelineEntry(
        stream_id=m.stream_id, window_id=m.window_id, start=m.start, end=m.end, caption=m.caption,
        actions=actions_from_pb(m.actions), activity=m.activity, error=m.error,
    )


def segment_to_pb(s: Segment) -> results_pb2.Segment:
    return results_pb2.Segment(
        stream_id=s.stream_id, start=s.start, end=s.end, caption=s.caption,
        window_ids=list(s.window_ids), actions=actions_to_pb(s.actions),
    )


def segment_from_pb(m: results_pb2.Segment) -> Segment:
    return Segment(
        stream_id=m.stream_id, start=m.start, end=m.end, caption=m.caption,
        window_ids=tuple(m.window_ids), actions=actions_from_pb(m.actions),
    )


def summary_to_pb(s: Summary) -> results_pb2.Summary:
    return results_pb2.Summary(
        stream_id=s.stream_id, text=s.text, start=s.start, end=s.end, method=s.method, windows=s.windows
    )


def summary_from_pb(m: results_pb2.Summary) -> Summary:
    return Summary(
        stream_id=m.stream_id, text=m.text, start=m.start, end=m.end, method=m.method, windows=m.windows
    )


def event_to_pb(e: StreamEvent) -> results_pb2.StreamEvent:
    return results_pb2.StreamEvent(
        stream_id=e.stream_id, state=_STATE_TO_PB[e.state], time_unix=e.time_unix,
        detail=e.detail, attempt=e.attempt, extra=dict(e.extra),
    )


def event_from_pb(m: results_pb2.StreamEvent) -> StreamEvent:
    if m.state not in _STATE_FROM_PB:
        raise ValueError(f"stream event for {m.stream_id!r} has no valid state ({m.state})")
    return StreamEvent(
        stream_id=m.stream_id, state=_STATE_FROM_PB[m.state], time_unix=m.time_unix,
        detail=m.detail, attempt=m.attempt, extra=dict(m.extra),
    )
