"""What the summarizer stores in Redis, as JSON: timeline entries, segment runs, events.

JSON (not protobuf) so that ``redis-cli`` shows it and the write script can read a stored entry's
rank. Floats are written by ``json`` at full precision, so a value read back equals the one written.
Every ``*_json`` has a ``*_from_json`` that inverts it.
"""
from __future__ import annotations

import json
from typing import Any

from services.aggregation import SegmentRun
from core.tiers import TIER_NAMES, tier_rank
from core.types import ActionScore, StreamEvent, StreamState, TimelineEntry, WindowResult


def result_rank(result: WindowResult) -> int:
    """How good a result is; a stored entry is replaced only by one of equal or higher rank.

    A successful result beats a failed one, and a higher tier's beats a lower one's (the dispatcher
    escalates a window from edge to cloud). Equal rank: the later result replaces the earlier.
    """
    return (0 if result.error else len(TIER_NAMES)) + max(0, tier_rank(result.tier))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _actions_json(actions) -> list[dict[str, Any]]:
    return [{"label": a.label, "score": a.score} for a in actions]


def _actions_from(items) -> tuple[ActionScore, ...]:
    return tuple(ActionScore(str(a["label"]), float(a["score"])) for a in items)


def entry_json(entry: TimelineEntry, *, tier: str, model_id: str, rank: int) -> str:
    """A timeline entry with where it came from (tier, model) and its rank."""
    return _dumps({
        "window_id": entry.window_id, "start": entry.start, "end": entry.end, "caption": entry.caption,
        "actions": _actions_json(entry.actions), "activity": entry.activity, "error": entry.error,
        "tier": tier, "model_id": model_id, "rank": rank,
    })


def entry_from_json(stream_id: str, raw: str | bytes) -> TimelineEntry:
    d = json.loads(raw)
    return TimelineEntry(stream_id=stream_id, window_id=d["window_id"], start=float(d["start"]),
                         end=float(d["end"]), caption=d["caption"], actions=_actions_from(d["actions"]),
                         activity=float(d["activity"]), error=d["error"])


def run_json(run: SegmentRun) -> str:
    return _dumps({
        "start": run.start, "end": run.end, "caption": run.caption, "first_window": run.first_window,
        "last_window": run.last_window, "last_start": run.last_start, "count": run.count,
        "totals": run.totals,
    })


def run_from_json(stream_id: str, raw: str | bytes) -> SegmentRun:
    d = json.loads(raw)
    return SegmentRun(stream_id=stream_id, start=float(d["start"]), end=float(d["end"]),
                      caption=d["caption"], first_window=d["first_window"], last_window=d["last_window"],
                      last_start=float(d["last_start"]), count=int(d["count"]),
                      totals={k: float(v) for k, v in d["totals"].items()})


def event_json(event: StreamEvent) -> str:
    return _dumps({
        "state": event.state.value, "time_unix": event.time_unix, "detail": event.detail,
        "attempt": event.attempt, "extra": dict(event.extra),
    })


def event_from_json(stream_id: str, raw: str | bytes) -> StreamEvent:
    d = json.loads(raw)
    return StreamEvent(stream_id=stream_id, state=StreamState(d["state"]), time_unix=float(d["time_unix"]),
                       detail=d["detail"], attempt=int(d["attempt"]), extra=dict(d["extra"]))
