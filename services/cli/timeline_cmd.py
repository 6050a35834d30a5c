"""``vila-stream timeline|summary|streams|watch``: query the cluster's summarizer over gRPC.

They find the local cluster by default (``127.0.0.1:50061``; ``--server`` or
``VILA_SUMMARIZER_ADDRESS`` override). ``--json`` prints timeline entries in the shape of
``analyze --json``'s windows (the same conversion, ``services.analyze.output.window_json``).
An unreachable summarizer is one line on stderr and exit code 5.
"""
from __future__ import annotations

import argparse
import itertools
import json
import signal

from services.aggregation.timeline import format_clock
from core.errors import UnknownStream
from core.types import StreamEvent, TimelineEntry


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _server_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", metavar="HOST:PORT",
                   help="summarizer address (default: $VILA_SUMMARIZER_ADDRESS or 127.0.0.1:50061)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("timeline", help="a stream's timeline from the cluster's summarizer",
                       description="Prints the timeline entries of STREAM whose windows start inside "
                       "[--start, --end) seconds (default: all), with the segments count.")
    p.add_argument("stream", metavar="STREAM", help="stream id")
    p.add_argument("--start", type=_seconds, default=0.0, metavar="S", help="from S seconds (default 0)")
    p.add_argument("--end", type=_seconds, default=0.0, metavar="E",
                   help="up to E seconds, exclusive (default: the end of the stream)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: windows in the shape of analyze --json's, and the segments")
    _server_option(p)
    p.set_defaults(func=run_timeline)

    p = sub.add_parser("summary", help="a stream's rolling summary from the cluster's summarizer")
    p.add_argument("stream", metavar="STREAM", help="stream id")
    p.add_argument("--json", action="store_true", help="print JSON")
    _server_option(p)
    p.set_defaults(func=run_summary)

    p = sub.add_parser("streams", help="the streams the cluster's summarizer knows")
    p.add_argument("--json", action="store_true", help="print JSON")
    _server_option(p)
    p.set_defaults(func=run_streams)

    p = sub.add_parser("watch", help="print timeline entries and stream events as they arrive",
                       description="Follows the summarizer live until Ctrl-C (or --count updates).")
    p.add_argument("streams", nargs="*", metavar="STREAM", help="stream ids (default: every stream)")
    p.add_argument("--count", type=int, metavar="N", help="stop after N updates")
    p.add_argument("--new", action="store_true",
                   help="also follow named streams that have stored nothing yet (a camera about to start); "
                        "without it such a stream is an error")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _server_option(p)
    p.set_defaults(func=run_watch)


def _client(args: argparse.Namespace):
    from services.summarizer.client import SummariesClient

    return SummariesClient(args.server)


def _entry_line(e: TimelineEntry) -> str:
    span = f"{format_clock(e.start)}–{format_clock(e.end)}"
    if e.error:
        return f"  {span}  [not analysed: {e.error}]"
    actions = ", ".join(f"{a.label} {a.score:.2f}" for a in e.actions)
    return f"  {span}  {e.caption}" + (f"  [{actions}]" if actions else "")


def run_timeline(args: argparse.Namespace) -> int:
    from services.analyze.output import counted, window_json

    with _client(args) as client:
        entries, segments = client.timeline(args.stream, args.start, args.end, segments=True)
    if args.json:
        print(json.dumps({
            "stream_id": args.stream,
            "windows": [window_json(e) for e in entries],
            "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "caption": s.caption}
                         for s in segments],
        }, indent=2))
        return 0
    print(f"Timeline of {args.stream} ({counted(len(entries), 'window')}):")
    for e in entries:
        print(_entry_line(e))
    print(f"Segments: {len(segments)}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    with _client(args) as client:
        s = client.summary(args.stream)
    if args.json:
        print(json.dumps({"stream_id": s.stream_id, "summary": s.text, "summary_method": s.method,
                          "start": round(s.start, 3), "end": round(s.end, 3), "windows": s.windows}, indent=2))
    else:
        print(s.text)
    return 0


def run_streams(args: argparse.Namespace) -> int:
    with _client(args) as client:
        streams = client.list_streams()
    if args.json:
        print(json.dumps([{"stream_id": s.stream_id, "source": s.source,
                           "state": s.state.value if s.state else None, "windows": s.windows,
                           "first_start": round(s.first_start, 3), "last_end": round(s.last_end, 3),
                           "updated_unix": s.updated_unix} for s in streams], indent=2))
        return 0
    from services.analyze.output import counted

    if not streams:
        print("No streams yet.")
    for s in streams:
        state = s.state.value if s.state else "-"
        print(f"{s.stream_id}  {state}  {counted(s.windows, 'window')}  "
              f"{format_clock(s.first_start)}–{format_clock(s.last_end)}  {s.source}")
    return 0


def _update_json(update: TimelineEntry | StreamEvent) -> dict:
    from services.analyze.output import window_json

    if isinstance(update, TimelineEntry):
        return {"stream_id": update.stream_id, "window": window_json(update)}
    return {"stream_id": update.stream_id, "event": {"state": update.state.value, "time_unix": update.time_unix,
                                                     "detail": update.detail, "attempt": update.attempt}}


def run_watch(args: argparse.Namespace) -> int:
    # Ctrl-C (or SIGTERM) is how a watch ends. Set the handlers explicitly: a process started from a
    # background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _follow(args)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _follow(args: argparse.Namespace) -> None:
    seen = 0
    with _client(args) as client:
        try:
            updates = client.watch(args.streams, wait_for_new=args.new)
            first = next(updates, None)
        except UnknownStream as exc:
            raise UnknownStream(f"{exc} (`watch --new` waits for a stream that has not started)") from None
        for update in itertools.chain([first] if first is not None else [], updates):
            if args.json:
                print(json.dumps(_update_json(update)), flush=True)
            elif isinstance(update, TimelineEntry):
                print(f"{update.stream_id}{_entry_line(update)}", flush=True)
            else:
                detail = f": {update.detail}" if update.detail else ""
                print(f"{update.stream_id}  [{update.state.value}{detail}]", flush=True)
            seen += 1
            if args.count and seen >= args.count:
                break
