"""The human-readable report: Markdown or HTML, one thumbnail per segment.

``.html`` gives one self-contained file (thumbnails inlined as data URIs);
any other suffix gives Markdown with the thumbnails written beside it in
``<stem>_thumbs/``.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from services.aggregation.timeline import format_clock
from services.analyze.output import counted, write_atomic
from services.analyze.pipeline import AnalysisOutcome
from core.types import Segment, WindowResult


def _thumbnail(segment: Segment, by_id: dict[str, WindowResult]) -> bytes:
    """The middle window's thumbnail: the most representative frame of the segment."""
    ids = [i for i in segment.window_ids if by_id.get(i) and by_id[i].thumbnail_jpeg]
    return by_id[ids[len(ids) // 2]].thumbnail_jpeg if ids else b""


def _actions(segment: Segment) -> str:
    return ", ".join(f"{a.label} ({a.score:.2f})" for a in segment.actions)


def _counts(outcome: AnalysisOutcome) -> str:
    return f"{counted(len(outcome.results), 'window')}, {counted(len(outcome.segments), 'segment')}"


def _status(outcome: AnalysisOutcome) -> str:
    if outcome.error:
        return f"Incomplete: {outcome.error}"
    if outcome.interrupted:
        return "Stopped before the end of the source (interrupted)."
    return "Complete."


def thumbs_dir(path: Path) -> Path | None:
    """The folder a report at ``path`` writes its thumbnails into (created beside it), None for HTML."""
    return None if _is_html(path) else path.parent / f"{path.stem}_thumbs"


def _is_html(path: Path) -> bool:
    return path.suffix.lower() in (".html", ".htm")


def write_markdown(outcome: AnalysisOutcome, path: Path) -> None:
    thumbs = thumbs_dir(path)
    by_id = {r.window_id: r for r in outcome.results}
    lines = [
        f"# vila-stream report: {outcome.source}",
        "",
        f"- Model: `{outcome.model_id}`",
        f"- Duration: {format_clock(outcome.duration)} ({_counts(outcome)})",
        f"- Status: {_status(outcome)}",
        "",
        "## Summary",
        "",
        outcome.summary.text,
        "",
        "## Segments",
        "",
    ]
    for n, seg in enumerate(outcome.segments, 1):
        lines.append(f"### {format_clock(seg.start)} – {format_clock(seg.end)}: {seg.caption}")
        lines.append("")
        jpeg = _thumbnail(seg, by_id)
        if jpeg:
            name = f"segment-{n:03d}.jpg"
            thumbs.mkdir(exist_ok=True)
            write_atomic(thumbs / name, jpeg)
            lines += [f"![segment {n}]({thumbs.name}/{name})", ""]
        if seg.actions:
            lines += [f"Actions: {_actions(seg)}", ""]
    failed = [r for r in outcome.results if r.error]
    if failed:
        lines += ["## Windows that could not be analysed", ""]
        lines += [f"- {format_clock(r.start)}–{format_clock(r.end)}: {r.error}" for r in failed]
        lines.append("")
    write_atomic(path, "\n".join(lines).encode())


def write_html(outcome: AnalysisOutcome, path: Path) -> None:
    by_id = {r.window_id: r for r in outcome.results}
    e = html.escape
    rows = []
    for seg in outcome.segments:
        jpeg = _thumbnail(seg, by_id)
        img = (
            f'<img alt="thumbnail" src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}">'
            if jpeg else ""
        )
        rows.append(
            f"<tr><td>{format_clock(seg.start)}–{format_clock(seg.end)}</td><td>{img}</td>"
            f"<td>{e(seg.caption)}</td><td>{e(_actions(seg))}</td></tr>"
        )
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>vila-stream report: {e(outcome.source)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}img{{max-width:240px}}
td{{vertical-align:top;padding:.3em .6em;border-bottom:1px solid #ddd}}</style></head><body>
<h1>vila-stream report</h1>
<p>Source: <code>{e(outcome.source)}</code><br>Model: <code>{e(outcome.model_id)}</code><br>
Duration: {format_clock(outcome.duration)} ({_counts(outcome)})<br>Status: {e(_status(outcome))}</p>
<h2>Summary</h2><p>{e(outcome.summary.text)}</p>
<h2>Segments</h2><table><tr><th>time</th><th>thumbnail</th><th>caption</th><th>actions</th></tr>
{''.join(rows)}</table></body></html>
"""
    write_atomic(path, doc.encode())


def write_report(outcome: AnalysisOutcome, path: Path) -> None:
    (write_html if _is_html(path) else write_markdown)(outcome, path)
