"""The ingest process: ``python -m ingest`` (and ``vila-stream ingest``).

``IngestApp.run()`` is the start-up, in order:

1. resolve the streams (streams file, ``--streams``, ``--source``/``--stream-id``) and check that
   local files exist: bad ones fail here;
2. create the topics if missing and open the producer (``BrokerUnavailable`` when Kafka is not there);
3. start one ``StreamPublisher`` per stream (its own reader, reconnect loop and sender);
4. print ``ready ...`` on stderr;
5. wait until every stream has ended (files end; cameras end at ``max_seconds``) or ``stop`` is set
   (SIGTERM/SIGINT), logging a progress line every ``stats_interval_s``;
6. stop the readers, let the senders publish what is queued (for up to ``DRAIN_S``; a window Kafka has
   not acknowledged by then is counted ``unsent``), close the producer, print one final stats line per
   stream.

A local file ingested again under the same stream id goes on after the last window an earlier run
published (``ingest/service/resume.py``; ``--from-start`` publishes everything again).

Kafka going away does not end a stream: each window is held until Kafka takes it (files wait, cameras
drop their oldest windows once the queue is full, counted).

Exit status: 0 when every stream ended cleanly (or was stopped) with every window published, else the
exit code of the first stream's error (for example 3 for a missing file, 2 for a window Kafka refused,
5 for windows left unsent at a stop); the other streams still ran to their end.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from typing import Callable

from ingest.service.publisher import StreamPublisher, StreamStats
from ingest.service.resume import FileMark, published_through
from ingest.service.settings import IngestSettings, add_ingest_arguments, settings_from
from ingest.service.streams import StreamSpec
from ingest.sources import resolve
from core.signals import stop_on_signals
from core.startup import run_main
from core.transport import kafka as kt
from core.transport.kafka_delivery import Delivery

log = logging.getLogger("vila.ingest")

DRAIN_S = 30.0


class IngestApp:
    def __init__(self, settings: IngestSettings, specs: list[StreamSpec],
                 on_change: Callable[[StreamStats], None] | None = None) -> None:
        self.settings, self.specs, self.on_change = settings, specs, on_change
        self.publishers: list[StreamPublisher] = []
        self.delivery: Delivery | None = None

    def run(self, stop: threading.Event) -> int:
        """Steps 2-6 of the module docstring (the specs are step 1); the exit status."""
        s = self.settings
        for spec in self.specs:  # a missing or empty file fails before anything starts
            resolve(spec.source).precheck(spec.source)
        kt.ensure_topics(s.kafka_bootstrap, connect_timeout_s=s.connect_timeout_s)
        self.delivery = Delivery(s.kafka_bootstrap, client_id="vila-ingest", send_timeout_s=s.send_timeout_s,
                                 connect_timeout_s=s.connect_timeout_s)
        try:
            for spec in self.specs:
                mark, through = self._resume_point(spec)
                publisher = StreamPublisher(spec, self.delivery, queue_size=s.queue_size,
                                            file_backpressure=s.file_backpressure, on_change=self.on_change,
                                            mark=mark, published_through=through)
                self.publishers.append(publisher)
                publisher.start()
            print(f"ready ingest streams={','.join(p.spec.stream_id for p in self.publishers)} "
                  f"kafka={s.kafka_bootstrap}", file=sys.stderr, flush=True)
            self._wait(stop)
        finally:
            self._stop()
        return self._exit_code()

    def _resume_point(self, spec: StreamSpec) -> tuple[FileMark | None, int | None]:
        """A local file's identity and the last window an earlier run published of it (``resume``)."""
        if resolve(spec.source).name != "file":
            return None, None
        mark = FileMark.of(spec.source)
        if self.settings.from_start:
            return mark, None
        through = published_through(self.settings.kafka_bootstrap, spec.stream_id, mark)
        if through is not None:
            log.info("stream %s: an earlier run published windows 0..%d of %s; going on after them "
                     "(--from-start publishes every window again)", spec.stream_id, through, spec.source)
        return mark, through

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
                log.warning("stream %s: Kafka has not taken its queued windows within %.0f s; giving them up",
                            p.spec.stream_id, DRAIN_S)
        for p in self.publishers:
            p.abandon.set()
            p.join(DRAIN_S)
        if self.delivery is not None:
            self.delivery.close(timeout=10)
        for p in self.publishers:
            print(f"ingest: stats {p.stats.line()}", file=sys.stderr, flush=True)
            if (unsent := p.unsent_error()) is not None:
                log.error("%s", unsent)

    def _exit_code(self) -> int:
        for p in self.publishers:
            error = p.stats.error or p.unsent_error()
            if error is not None:
                return error.exit_code
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
