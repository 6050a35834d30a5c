"""The local pipeline: a decoder thread feeding the model through a bounded queue.

Start-up, in order: start the ingest thread; take windows off the queue in
batches; run the model; aggregate. The ingest thread ends with an ``_End``
marker carrying its error (if any), so an error after some windows (a damaged
file) still leaves every analysed window in the outcome.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import ingest
from services.aggregation import StreamAggregator
from services.aggregation.summary import GenerateFn
from core.queues import BoundedQueue
from core.errors import VilaError
from core.types import FrameWindow, Segment, StreamEvent, Summary, TimelineEntry, WindowResult

log = logging.getLogger("vila.analyze")


@dataclass(frozen=True)
class PipelineOptions:
    source: str
    stream_id: str
    ingest: ingest.IngestConfig
    live: bool = False
    batch_size: int = 1
    queue_size: int = 4


@dataclass
class AnalysisOutcome:
    """Everything one run produced, complete even when it stopped early."""

    source: str
    stream_id: str
    model_id: str
    duration: float
    results: list[WindowResult]
    timeline: list[TimelineEntry]
    segments: list[Segment]
    summary: Summary
    error: VilaError | None = None  # set when the source failed part-way
    interrupted: bool = False
    dropped: int = 0
    events: list[StreamEvent] = field(default_factory=list)


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


class WindowAnalyzer(Protocol):
    """The part of ``workers.engine.local.LocalEngine`` the pipeline uses: a result per window, in order."""

    def run(self, windows: list[FrameWindow]) -> list[WindowResult]: ...


class LocalPipeline:
    """Runs one source through ingest, the in-process engine and the aggregator.

    ``on_window(result, position)`` is called after each analysed window (it drives
    the progress bar); ``on_event`` receives the source's state changes.
    """

    def __init__(
        self,
        runner: WindowAnalyzer,
        options: PipelineOptions,
        *,
        model_id: str,
        on_window: Callable[[WindowResult], None] | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        on_progress: Callable[[ingest.Progress], None] | None = None,
    ):
        self.runner = runner
        self.options = options
        self.model_id = model_id
        self.on_window = on_window
        self.on_event = on_event
        self.on_progress = on_progress
        self.queue: BoundedQueue[FrameWindow | _End] = BoundedQueue(
            options.queue_size, drop_oldest=options.live
        )
        self.events: list[StreamEvent] = []
        self.duration: float | None = None

    def _event(self, event: StreamEvent) -> None:
        self.events.append(event)
        if self.on_event:
            self.on_event(event)

    def _progress(self, progress: ingest.Progress) -> None:
        if progress.duration:
            self.duration = progress.duration
        if self.on_progress:
            self.on_progress(progress)

    def _produce(self, stop: threading.Event) -> None:
        error: BaseException | None = None
        try:
            for window in ingest.iter_windows(
                self.options.source, self.options.stream_id, self.options.ingest,
                on_event=self._event, on_progress=self._progress, stop=stop,
            ):
                if not self.queue.put(window, stop=stop):
                    break
        except BaseException as exc:  # handed to the consumer, which decides
            error = exc
        self.queue.put_final(_End(error))

    def run(self, stop: threading.Event, generate: GenerateFn | None = None) -> AnalysisOutcome:
        """Runs until the source ends, fails, or ``stop`` is set; never loses a result.

        Raises the source's error only when it failed before yielding any window
        (nothing to report); otherwise the error is kept in ``outcome.error``.
        """
        aggregator = StreamAggregator(self.options.stream_id)
        producer = threading.Thread(target=self._produce, args=(stop,), name="ingest", daemon=True)
        producer.start()
        end: _End | None = None
        try:
            while end is None:
                item = self.queue.get(timeout=0.2)
                if item is None:
                    continue
                batch: list[FrameWindow] = []
                while item is not None:
                    if isinstance(item, _End):
                        end = item
                        break
                    batch.append(item)
                    if len(batch) >= self.options.batch_size:
                        break
                    item = self.queue.get_nowait()
                if batch:
                    for result in self.runner.run(batch):
                        aggregator.add(result)
                        if self.on_window:
                            self.on_window(result)
        except KeyboardInterrupt:
            stop.set()
        finally:
            stop_requested = stop.is_set()
            stop.set()
            producer.join(timeout=10.0)
        interrupted = stop_requested and (end is None or end.error is None)
        error = end.error if end else None
        if error is not None and not isinstance(error, VilaError):
            raise error
        if error is not None and len(aggregator) == 0:
            raise error
        results = aggregator.results()
        last_end = max((r.end for r in results), default=0.0)
        duration = self.duration if (self.duration and not self.options.live) else last_end
        return AnalysisOutcome(
            source=self.options.source,
            stream_id=self.options.stream_id,
            model_id=self.model_id,
            duration=duration,
            results=results,
            timeline=aggregator.timeline(),
            segments=aggregator.segments(),
            summary=aggregator.summary(generate),
            error=error,
            interrupted=interrupted,
            dropped=self.queue.dropped,
            events=list(self.events),
        )


