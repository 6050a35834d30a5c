"""``vila-stream analyze SOURCE``: a video file or camera → timeline and summary."""
from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.windowing import WINDOW_SECONDS
from services.cli.console import ProgressDisplay, default_model_note, print_outcome

if TYPE_CHECKING:
    from workers.tiers import TierProfile

LIVE_SCHEMES = ("rtsp://", "rtsps://")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def _labels(text: str) -> list[str]:
    """``--actions``: comma-separated labels, each stripped; an empty list or a blank label is a mistake
    (a stray comma), named by its position, not something to skip silently."""
    labels = [label.strip() for label in text.split(",")]
    if not any(labels):
        raise argparse.ArgumentTypeError("no label given (comma-separated labels, e.g. 'a car parking,a dog')")
    blank = [n for n, label in enumerate(labels, 1) if not label]
    if blank:
        raise argparse.ArgumentTypeError(f"label {blank[0]} is blank in {text!r}")
    return labels


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse a video file or camera: timeline, actions and summary",
        description="Runs ingest → model → aggregation in one process on a file, an http(s)/HLS "
        "URL or an rtsp:// camera; prints the timeline and the summary.",
    )
    p.add_argument("source", metavar="SOURCE", help="video file, http(s):// or .m3u8 URL, or rtsp:// camera")
    p.add_argument("--model", type=Path, help="VILA checkpoint directory (default: the embedded default model)")
    p.add_argument("--tier", default="edge", help="tier profile: edge or cloud (default edge)")
    p.add_argument("--window-seconds", type=_positive(float), default=WINDOW_SECONDS, metavar="S",
                   help="window length in seconds (default 8)")
    p.add_argument("--stride-seconds", type=_positive(float), metavar="S",
                   help="seconds between window starts (default: the window length; less overlaps)")
    p.add_argument("--quantization", metavar="MODE",
                   help="quantise the LLM: none, int8-dynamic, int8-dynamic-token, int8, int4 "
                        "(default: the tier's; edge int8-dynamic-token, cloud none)")
    p.add_argument("--frames-per-window", type=_positive(int), metavar="N",
                   help="frames given to the model per window "
                        "(default: the tier's, at most the model's num_video_frames)")
    p.add_argument("--fps", type=_positive(float), metavar="F",
                   help="sampling rate in frames per second (default: N frames spread over each window)")
    p.add_argument("--max-seconds", type=_positive(float), metavar="S",
                   help="stop after S seconds of stream (live sources run until Ctrl-C otherwise)")
    p.add_argument("--actions", metavar="LABELS", type=_labels,
                   help="comma-separated candidate action labels (default: a built-in list)")
    p.add_argument("--summary", choices=("extractive", "model"), default="extractive",
                   help="summary written from the segments (default) or by the model")
    p.add_argument("--batch-size", type=_positive(int), default=1, metavar="B",
                   help="windows per forward pass (default 1)")
    p.add_argument("--stream-id", help="name of the stream in the results (default: from SOURCE)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the JSON result to OUT (its folder must exist)")
    p.add_argument("--report", type=Path, metavar="OUT",
                   help="write a report to OUT (.html: one self-contained page; else Markdown); its folder must exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no note about the default model")
    p.set_defaults(func=run)


def stream_id_for(source: str) -> str:
    """A readable stream id: the file's stem, or host and path of a URL."""
    if "://" in source:
        rest = source.split("://", 1)[1].split("?", 1)[0]
        rest = rest.split("@", 1)[-1]  # never put credentials in an id
    else:
        rest = Path(source).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", rest).strip("-") or "stream"


def tier_from_args(args: argparse.Namespace) -> TierProfile:
    """The ``--tier`` profile with the options that override it (frames per window, quantization);
    a command may have only some of them (``eval`` has no ``--frames-per-window``)."""
    from workers.tiers import get_tier

    tier = get_tier(args.tier)
    if getattr(args, "frames_per_window", None):
        tier = replace(tier, frames_per_window=args.frames_per_window, frames_set=True)
    if getattr(args, "quantization", None):
        tier = replace(tier, quantization=args.quantization)
    return tier


def check_outputs(args: argparse.Namespace) -> None:
    """``--json`` and ``--report`` (and a Markdown report's thumbnail folder) can be written: InvalidInput
    (exit 2) naming the option and the path otherwise, before minutes of analysis are spent."""
    from core.errors import InvalidInput
    from services.analyze.report import thumbs_dir
    from services.cli.outputs import check_output_file

    if args.json:
        check_output_file("--json", args.json)
    if args.report:
        check_output_file("--report", args.report)
        thumbs = thumbs_dir(args.report)
        if thumbs is not None and thumbs.exists() and not thumbs.is_dir():
            raise InvalidInput(f"--report {args.report}: {thumbs} (the thumbnails' folder) is not a directory")


def run(args: argparse.Namespace) -> int:
    check_outputs(args)
    # Heavy imports here, so that `vila-stream --help` stays fast.
    import ingest
    from services.analyze import LocalPipeline, PipelineOptions
    from services.analyze.output import counted, write_json
    from services.analyze.report import write_report
    from core.labels import DEFAULT_ACTION_LABELS
    from workers.engine.local import LocalEngine
    from workers.runtime.default import default_model_path
    from workers.tiers import load_for_tier

    tier = tier_from_args(args)
    config = ingest.IngestConfig(
        window_seconds=args.window_seconds,
        stride_seconds=args.stride_seconds,
        frames_per_window=None if (args.fps and not args.frames_per_window) else tier.frames_per_window,
        fps=args.fps,
        max_seconds=args.max_seconds,
    )
    live = args.source.lower().startswith(LIVE_SCHEMES)
    duration = None
    if not live:
        # Fails fast (missing file, not a video) before the model is loaded.
        info = ingest.probe(args.source, config)
        live, duration = info.live, info.duration
    labels = args.actions or list(DEFAULT_ACTION_LABELS)

    if args.model is None and not args.quiet:  # before the work, where it is read; not in scripts' --quiet runs
        print(default_model_note(), file=sys.stderr)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bar is the one that matters
    # The tier decides device, dtype, quantisation and vision backend, as on a worker of that tier.
    model = load_for_tier(args.model or default_model_path(), tier)
    tier = tier.fitted(model.info.video_frames)
    if config.frames_per_window is not None:
        # Sample what the model is shown: a fitted tier's count at its own slot centres, not more frames
        # that the engine would then thin out (8 thinned to 4 are not the 4 slot centres it was trained on).
        config = replace(config, frames_per_window=tier.frames_per_window)
    engine = LocalEngine(model, tier, labels)
    options = PipelineOptions(
        source=args.source, stream_id=args.stream_id or stream_id_for(args.source), ingest=config,
        live=live, batch_size=args.batch_size,
    )
    display = ProgressDisplay(live=live, duration=duration, enabled=not args.quiet)
    pipeline = LocalPipeline(
        engine, options, model_id=model.info.model_id,
        on_window=display.window_done, on_event=display.event,
    )
    stop = threading.Event()
    generate = engine.generate if args.summary == "model" else None
    with _stop_on_ctrl_c(stop):
        try:
            outcome = pipeline.run(stop, generate=generate)
        finally:
            display.close()
            engine.close()

    print_outcome(outcome, sys.stdout)
    if args.json:
        write_json(outcome, args.json)
        print(f"JSON result written to {args.json}")
    if args.report:
        write_report(outcome, args.report)
        print(f"report written to {args.report}")
    if outcome.error is not None:
        print(f"vila-stream: error: {outcome.error} "
              f"(kept what was analysed: {counted(len(outcome.results), 'window')})", file=sys.stderr)
        return outcome.error.exit_code
    return 0


class _stop_on_ctrl_c:
    """First Ctrl-C asks the pipeline to stop cleanly; a second one aborts."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.previous = None

    def _handle(self, signum, frame):
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        print("\nstopping (Ctrl-C again to abort)…", file=sys.stderr)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
