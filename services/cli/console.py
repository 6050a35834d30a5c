"""What ``analyze`` prints: a progress bar while it runs, then timeline and summary."""
from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from services.aggregation.timeline import format_clock
from services.analyze.output import counted
from core.types import StreamEvent, WindowResult


class CountingBar(tqdm):
    """A tqdm bar whose ``bar_format`` may say ``{windows}``: its count as "1 window", "2 windows"."""

    @property
    def format_dict(self):
        d = super().format_dict
        d["windows"] = counted(int(d["n"]), "window")
        return d


class ProgressDisplay:
    """A progress bar on stderr: seconds of the file done, or windows done when live."""

    def __init__(self, *, live: bool, duration: float | None, enabled: bool = True):
        self.live = live
        self.windows = 0
        timed = not live and bool(duration)
        self.bar = CountingBar(
            total=round(duration, 1) if timed else None,
            desc="analyzing",
            disable=not enabled,
            file=sys.stderr,
            bar_format=(
                "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]{postfix}"
                if timed else "{desc}: {windows} [{elapsed}]{postfix}"
            ),
            dynamic_ncols=True,
        )

    def window_done(self, result: WindowResult) -> None:
        self.windows += 1
        if self.bar.total is not None:
            self.bar.n = min(self.bar.total, round(result.end, 1))
            self.bar.refresh()
        else:
            self.bar.update(1)

    def event(self, event: StreamEvent) -> None:
        if self.live:  # a file's reader runs ahead of the model: its state would mislead
            self.bar.set_postfix_str(event.state.value, refresh=True)
        if event.detail and event.state.value in ("stalled", "reconnecting"):
            self.bar.write(f"source {event.state.value}: {event.detail}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def default_model_note() -> str:
    """The line ``analyze`` prints when it runs the embedded default model: what that model can see (a new user
    otherwise reads "a white triangle moves up" for a car) and how to run a real checkpoint instead."""
    from workers.runtime.default import SHIPPED_NAME, default_model_path

    name = default_model_path().name
    knows = ("knows only synthetic coloured shapes" if name == SHIPPED_NAME
             else "has random weights (the trained one is missing from this checkout)")
    return (f"note: the embedded default model ({name}) {knows}; for real footage pass --model PATH "
            "to a released VILA checkpoint (docs/runtime.md)")


def quiet_model_loading() -> None:
    """No transformers progress bars ("Loading weights ...") while a command loads a checkpoint: they are
    noise between the command's own output lines (and in logs); the command says what it loaded."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def print_outcome(outcome, out: TextIO) -> None:
    """Timeline (time range, caption, top actions), segments count and summary."""
    print(f"Timeline of {outcome.source} ({counted(len(outcome.results), 'window')}, model {outcome.model_id}):",
          file=out)
    for r in outcome.results:
        span = f"{format_clock(r.start)}–{format_clock(r.end)}"
        if r.error:
            print(f"  {span}  [not analysed: {r.error}]", file=out)
            continue
        actions = ", ".join(f"{a.label} {a.score:.2f}" for a in r.top_actions(3))
        print(f"  {span}  {r.caption}" + (f"  [{actions}]" if actions else ""), file=out)
    print(f"Segments: {len(outcome.segments)}", file=out)
    print(f"Summary ({outcome.summary.method}): {outcome.summary.text}", file=out)
    if outcome.dropped:
        print(f"Dropped windows (model slower than the camera): {outcome.dropped}", file=out)
    if outcome.interrupted:
        print("Stopped before the end of the source; results so far are complete.", file=out)
