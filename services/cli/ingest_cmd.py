"""``vila-stream ingest --source SOURCE --stream-id ID``: feed streams to the cluster's Kafka.

Targets the local cluster by default (``VILA_KAFKA_BOOTSTRAP``, else 127.0.0.1:19092); takes the same
options as ``python -m ingest`` (``--config FILE``, repeated ``--source``/``--stream-id``, windowing),
shows one progress bar per stream (seconds of a file, or windows of a live source, with published /
dropped counts) and exits when every stream has ended, or on Ctrl-C after flushing what is queued.
Kafka unreachable: one line on stderr, exit 5.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading


def register(sub: argparse._SubParsersAction) -> None:
    from ingest.service.settings import add_ingest_arguments

    p = sub.add_parser("ingest", help="publish video streams (files, cameras) to the cluster",
                       description="Cuts each source into windows of sampled frames and publishes them to "
                       "Kafka (vila.windows.v1) for the cluster's dispatcher; stream states go to "
                       "vila.events.v1. Every option also has an environment variable (VILA_INGEST_*).")
    add_ingest_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


class _Bars:
    """One tqdm bar per stream, updated from the streams' threads."""

    def __init__(self, stream_ids: list[str], enabled: bool) -> None:
        from services.cli.console import CountingBar

        self._tqdm, self.enabled = CountingBar, enabled
        self._bars: dict[str, object] = {}
        self._order = {s: i for i, s in enumerate(stream_ids)}
        self._lock = threading.Lock()

    def update(self, stats) -> None:
        if not self.enabled:
            return
        with self._lock:
            bar = self._bars.get(stats.stream_id)
            timed = stats.duration is not None
            if bar is None or (timed and bar.total is None):
                if bar is not None:
                    bar.close()
                bar = self._tqdm(total=round(stats.duration, 1) if timed else None, desc=stats.stream_id,
                                 position=self._order[stats.stream_id], file=sys.stderr, dynamic_ncols=True,
                                 bar_format=("{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s {postfix}"
                                             if timed else "{desc}: {windows} [{elapsed}] {postfix}"))
                self._bars[stats.stream_id] = bar
            bar.n = min(bar.total, stats.position) if timed else stats.windows
            bar.set_postfix_str(f"{stats.state} published={stats.published} dropped={stats.dropped}"
                                + (f" failed={stats.failed}" if stats.failed else "")
                                + (f" skipped={stats.skipped} (published before)" if stats.skipped else ""),
                                refresh=True)

    def close(self) -> None:
        with self._lock:
            for bar in self._bars.values():
                bar.close()


def run(args: argparse.Namespace) -> int:
    from core.signals import stop_on_signals
    from ingest.service.app import IngestApp
    from ingest.service.settings import settings_from

    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the one-line BrokerUnavailable says it all
    settings = settings_from(args)
    specs = settings.stream_specs(args.source, args.stream_id)
    bars = _Bars([s.stream_id for s in specs], enabled=not args.quiet)
    try:
        return IngestApp(settings, specs, on_change=bars.update).run(stop_on_signals())
    finally:
        bars.close()
