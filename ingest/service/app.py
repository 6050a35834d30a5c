"""The ingest process: ``python -m ingest`` (and ``vila-stream ingest``).

``IngestApp.run()`` is the start-up, in order:

1. resolve the streams (streams file, ``--streams``, ``--source``/``--stream-id``) and check that
   local files exist: bad ones fail here;
2. create the topics if missing and open the producer (``BrokerUnavailable`` when Kafka is not there);
3. start one ``StreamPublisher`` per stream (its own reader, reconnect loop and sender);
4. print ``ready ...`` on stderr;
5. wait until every stream has ended (files end; cameras end at ``max_seconds``) or ``stop`` is set
   (SIGTERM/SIGINT), logging a progress line every ``stats_interval_s``;
6. stop the readers, let the senders publish what is queued, flush and close the producer, print
   one final stats line per stream.

Exit status: 0 when every stream ended cleanly (or was stopped), else the exit code of the first
stream's error (for example 3 for a missing file); the other streams still ran to their end.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from typing import Callable

from ingest.service.publisher import StreamPublisher, StreamStats
from ingest.service.settings import IngestSettings, add_ingest_arguments, settings_from
from ingest.service.streams import StreamSpec
from ingest.sources import resolve
from core.signals import stop_on_signals
from core.startup import run_main
from core.transport import kafka as kt

log = logging.getLogger("vila.ingest")

DRAIN_S = 30.0


class IngestApp:
    def __init__(self, settings: IngestSettings, specs: list[StreamSpec],
                 on_change: Callable[[StreamStats], None] | None = None) -> None:
        self.settings, self.specs, self.on_change = settings, specs, on_change
        self.publishers: list[StreamPublisher] = []
        self.producer = None

    def run(self, stop: threading.Event) -> int:
        """Steps 2-6 of the module docstring (the specs are step 1); the exit status."""
        s = self.settings
        for spec in self.specs:  # a missing or empty file fails before anything starts
            resolve(spec.source).precheck(spec.source)
        kt.ensure_topics(s.kafka_bootstrap, connect_timeout_s=s.connect_timeout_s)
        self.producer = kt.make_producer(s.kafka_bootstrap, client_id="vila-ingest",
                                         connect_timeout_s=s.connect_timeout_s)
        try:
            for spec in self.specs:
                publisher = StreamPublisher(spec, self.producer, queue_size=s.queue_size,
                                            file_backpressure=s.file_backpressure,
                                            send_timeout_s=s.send_timeout_s, on_change=self.on_change)
                self.publishers.append(publisher)
                publisher.start()
            print(f"ready ingest streams={','.join(p.spec.stream_id for p in self.publishers)} "
                  f"kafka={s.kafka_bootstrap}", file=sys.stderr, flush=True)
            self._wait(stop)
        finally:
            self._stop()
        return self._exit_code()

    def _wait(self, stop: threading.Event) -> None:
        next_stats = time.monotonic() + (self.settings.stats_interval_s or float("inf"))
        while not stop.is_set() and not all(p.stats.done for p in self.publishers):
            stop.wait(0.2)
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + self.settings.stats_interval_s
                for p in self.publishers:
                    log.info("progress %s", p.stats.line())

    def _stop(self) -> None:
        for p in self.publishers:
            p.stop.set()
        deadline = time.monotonic() + DRAIN_S
        for p in self.publishers:
            if not p.join(max(0.0, deadline - time.monotonic())):
                log.warning("stream %s did not stop within %.0f s", p.spec.stream_id, DRAIN_S)
        if self.producer is not None:
            self.producer.flush(timeout=10)
            self.producer.close(timeout=10)
        for p in self.publishers:
            print(f"ingest: stats {p.stats.line()}", file=sys.stderr, flush=True)

    def _exit_code(self) -> int:
        for p in self.publishers:
            if p.stats.error is not None:
                return p.stats.error.exit_code
        return 0


def parse_settings(argv: list[str] | None = None) -> tuple[IngestSettings, list[StreamSpec]]:
    """The settings and the streams they name (flags, environment, the streams file)."""
    parser = argparse.ArgumentParser(prog="python -m ingest",
                                     description="Publish windows of video streams to Kafka (vila.windows.v1).")
    add_ingest_arguments(parser)
    args = parser.parse_args(argv)
    settings = settings_from(args)
    return settings, settings.stream_specs(args.source, args.stream_id)


def run(parsed: tuple[IngestSettings, list[StreamSpec]]) -> int:
    settings, specs = parsed
    return IngestApp(settings, specs).run(stop_on_signals())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ingest``; the exit status."""
    return run_main("vila-ingest", parse_settings, run, argv, quiet_level=logging.ERROR)
