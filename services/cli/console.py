"""What ``analyze`` prints: a progress bar while it runs, then timeline and summary."""
from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from services.aggregation.timeline import format_clock
from core.types import StreamEvent, WindowResult


class ProgressDisplay:
    """A progress bar on stderr: seconds of the file done, or windows done when live."""

    def __init__(self, *, live: bool, duration: float | None, enabled: bool = True):
        self.live = live
        self.windows = 0
        timed = not live and bool(duration)
        self.bar = tqdm(
            total=round(duration, 1) if timed else None,
            desc="analyzing",
            disable=not enabled,
            file=sys.stderr,
            bar_format=(
                "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]{postfix}"
                if timed else "{desc}: {n_fmt} windows [{elapsed}]{postfix}"
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


def print_outcome(outcome, out: TextIO) -> None:
    """Timeline (time range, caption, top actions), segments count and summary."""
    print(f"Timeline of {outcome.source} ({len(outcome.results)} windows, model {outcome.model_id}):", file=out)
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
