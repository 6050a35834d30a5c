"""The ``--json`` result: a stable contract for scripts.

Shape: ``{"source", "duration", "model", "windows": [{"window_id", "start", "end",
"caption", "actions": [{"label", "score"}], "activity"}], "segments": [{"start",
"end", "caption"}], "summary"}``, times in seconds from the start of the stream.
Added keys (never renamed or removed ones): ``stream_id``, ``summary_method``,
``complete``, ``error``, ``interrupted``, ``dropped_windows``; a window that could
not be analysed carries ``error``.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from services.analyze.pipeline import AnalysisOutcome
from core.types import WindowResult


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number, for every count shown to a user: "1 window", "2 windows"."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _t(x: float) -> float:
    return round(float(x), 3)


def window_json(r: WindowResult) -> dict[str, Any]:
    """One window in the contract's shape (also used by the cluster's ``--json``)."""
    out: dict[str, Any] = {
        "window_id": r.window_id,
        "start": _t(r.start),
        "end": _t(r.end),
        "caption": r.caption,
        "actions": [{"label": a.label, "score": round(a.score, 4)} for a in r.actions],
        "activity": round(r.activity, 4),
    }
    if r.error:
        out["error"] = r.error
    return out


def outcome_json(outcome: AnalysisOutcome) -> dict[str, Any]:
    return {
        "source": outcome.source,
        "stream_id": outcome.stream_id,
        "duration": _t(outcome.duration),
        "model": outcome.model_id,
        "windows": [window_json(r) for r in outcome.results],
        "segments": [
            {"start": _t(s.start), "end": _t(s.end), "caption": s.caption} for s in outcome.segments
        ],
        "summary": outcome.summary.text,
        "summary_method": outcome.summary.method,
        "complete": outcome.error is None and not outcome.interrupted,
        "error": str(outcome.error) if outcome.error else None,
        "interrupted": outcome.interrupted,
        "dropped_windows": outcome.dropped,
    }


def write_atomic(path: Path, data: bytes) -> None:
    """Writes via a temporary file and a rename: a reader never sees half a file.

    The folder must exist (a missing one is the caller's mistake to report, not to create); OSError otherwise.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(outcome: AnalysisOutcome, path: Path) -> None:
    write_atomic(path, (json.dumps(outcome_json(outcome), indent=2) + "\n").encode())
