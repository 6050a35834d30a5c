"""Counts read as English: "1 window", "2 windows", wherever the CLI prints them."""
from __future__ import annotations

import io

from core.types import Segment, Summary, WindowResult
from services.analyze.output import counted
from services.analyze.pipeline import AnalysisOutcome
from services.analyze.report import write_report
from services.cli.console import ProgressDisplay, print_outcome


def outcome(n: int) -> AnalysisOutcome:
    results = [WindowResult("cam", f"cam-{i}", i, 2.0 * i, 2.0 * i + 2, "a red square moves left") for i in range(n)]
    segments = [Segment("cam", 0.0, 2.0 * n, "a red square moves left", tuple(r.window_id for r in results))]
    return AnalysisOutcome("cam.mp4", "cam", "tiny", 2.0 * n, results, [], segments,
                           Summary("cam", "a red square moves left", 0.0, 2.0 * n))


def test_counted():
    assert [counted(n, "window") for n in (0, 1, 2)] == ["0 windows", "1 window", "2 windows"]
    assert counted(1, "match", "matches") == "1 match" and counted(3, "match", "matches") == "3 matches"


def test_the_timeline_and_the_reports_say_1_window(tmp_path):
    out = io.StringIO()
    print_outcome(outcome(1), out)
    assert out.getvalue().startswith("Timeline of cam.mp4 (1 window, model tiny):")
    for name in ("report.md", "report.html"):
        write_report(outcome(1), tmp_path / name)
        text = (tmp_path / name).read_text()
        assert "1 window, 1 segment)" in text and "1 windows" not in text and "1 segments" not in text
    print_outcome(outcome(2), out)
    assert "(2 windows, model tiny)" in out.getvalue()


def test_the_live_progress_bar_says_1_window():
    display = ProgressDisplay(live=True, duration=None, enabled=True)
    try:
        display.window_done(outcome(1).results[0])
        assert "analyzing: 1 window [" in str(display.bar)
        display.window_done(outcome(1).results[0])
        assert "analyzing: 2 windows [" in str(display.bar)
    finally:
        display.close()


def test_the_ingest_bar_of_a_live_stream_says_1_window():
    from ingest.service.publisher import StreamStats
    from services.cli.ingest_cmd import _Bars

    bars = _Bars(["cam"], enabled=True)
    try:
        bars.update(StreamStats("cam", windows=1, published=1, state="streaming"))
        assert "cam: 1 window [" in str(bars._bars["cam"])
    finally:
        bars.close()
