"""Writing results and events to Redis: idempotent by window id, with incremental segments and summary.

``SummaryStore`` is the summarizer's only writer. One batch (a Kafka poll) becomes:

1. one pipelined round trip of ``WRITE_ENTRY`` scripts: each window's entry is written atomically,
   so a redelivered result never duplicates an entry or double-counts (see ``scripts``);
2. per touched stream, the segments brought up to date (``SegmentRun``s stored in Redis, extended
   window by window; a WATCH/MULTI transaction so a concurrent writer forces a retry, not a mix);
3. per touched stream, the rolling summary recomputed from the stream's totals and its newest
   ``summary_segments`` segments: bounded cost per update however long the stream runs.

Steps 2 and 3 derive everything from what is stored, never from increments, so replaying a batch
after a crash (the offsets were not committed) repairs whatever the crash left half done.
Redis errors propagate (``redis.RedisError``); the caller retries the batch and commits nothing.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from services.aggregation import SegmentRun, entry_from_result, summarize_totals
from core.types import StreamEvent, TimelineEntry, WindowResult
from services.summarizer import keys, records, scripts
from services.summarizer.keys import StreamKeys

log = logging.getLogger("vila.summarizer.store")

_NEG_INF = float("-inf")


@dataclass
class WriteCounts:
    """What a batch did: new entries, replaced ones, redeliveries, lower-rank results kept out."""

    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept: int = 0
    events: int = 0

    def add(self, status: int) -> None:
        if status == 1:
            self.new += 1
        elif status == 2:
            self.replaced += 1
        elif status == 0:
            self.unchanged += 1
        else:
            self.kept += 1


def _num(value: float) -> str:
    return repr(float(value))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class SummaryStore:
    """Writes window results and stream events of any number of streams into one Redis database."""

    def __init__(self, client: redis.Redis, *, summary_segments: int = 256, events_kept: int = 1000,
                 updates_kept: int = 10000, clock=time.time):
        self.client = client
        self.summary_segments = summary_segments
        self.events_kept = events_kept
        self.updates_kept = updates_kept
        self._clock = clock
        self._write_entry = client.register_script(scripts.WRITE_ENTRY)
        self._write_event = client.register_script(scripts.WRITE_EVENT)

    # --- writes -------------------------------------------------------------------------------

    def write_results(self, results: Sequence[WindowResult]) -> WriteCounts:
        """Stores the results' timeline entries, then refreshes segments and summary of their streams."""
        counts = WriteCounts()
        if not results:
            return counts
        now = _num(self._clock())
        pipe = self.client.pipeline(transaction=False)
        for r in results:
            k = StreamKeys(r.stream_id)
            entry = entry_from_result(r)
            payload = records.entry_json(entry, tier=r.tier, model_id=r.model_id, rank=records.result_rank(r))
            self._write_entry(
                keys=[keys.STREAMS, k.meta, k.timeline, k.entries, k.failed, keys.UPDATES],
                args=[r.stream_id, r.window_id, _num(r.start), _num(r.end), payload,
                      records.result_rank(r), "1" if r.error else "0", now, self.updates_kept],
                client=pipe,
            )
        for status in pipe.execute():
            counts.add(int(status))
        starts: dict[str, list[float]] = defaultdict(list)
        for r in results:
            starts[r.stream_id].append(r.start)
        for stream_id, stream_starts in starts.items():
            self.refresh_segments(stream_id, min(stream_starts))
            self.refresh_summary(stream_id)
        return counts

    def write_events(self, events: Iterable[StreamEvent]) -> int:
        """Records stream events and moves each stream's state; returns how many were new."""
        now = _num(self._clock())
        pipe = self.client.pipeline(transaction=False)
        n = 0
        for e in events:
            k = StreamKeys(e.stream_id)
            self._write_event(
                keys=[keys.STREAMS, k.meta, k.events, keys.UPDATES],
                args=[e.stream_id, records.event_json(e), _num(e.time_unix), e.state.value,
                      e.extra.get("source", ""), self.events_kept, now, self.updates_kept],
                client=pipe,
            )
            n += 1
        return sum(int(s) for s in pipe.execute()) if n else 0

    # --- derived state ------------------------------------------------------------------------

    def refresh_segments(self, stream_id: str, changed_from: float) -> None:
        """Brings the stream's segments up to date after entries starting at ``changed_from`` or later changed.

        Appends (the usual case: windows arrive in order) resume the newest segment run and read
        only the entries after the last one segmented. An entry that lands before that point (a late
        window, an escalated result replacing an earlier one, a replay) rebuilds the segments from the
        one before the segment that holds it: the boundary before that one cannot have moved.
        """
        k = StreamKeys(stream_id)

        def rebuild(pipe: redis.client.Pipeline) -> None:
            upto = pipe.hget(k.meta, "seg_upto")
            dropped: list[str] = []
            if upto is None or changed_from > float(upto):
                tail = pipe.zrevrange(k.segments, 0, 0)
                run = self._load_run(pipe, k, tail[0]) if tail else None
                entries = self._entries_after(pipe, k, _NEG_INF if upto is None else float(upto), inclusive=False)
                runs = [run] if run is not None else []
            else:
                found = pipe.zrevrangebyscore(k.segments, _num(changed_from), "-inf", start=0, num=2,
                                              withscores=True)
                since = found[-1][1] if found else _NEG_INF
                dropped = [_text(m) for m in pipe.zrangebyscore(k.segments, _num(since) if found else "-inf", "+inf")]
                entries = self._entries_after(pipe, k, since, inclusive=True)
                runs = []
            for entry in entries:
                if entry.error:
                    continue
                if runs and runs[-1].accepts(entry):
                    runs[-1].add(entry)
                else:
                    runs.append(SegmentRun.open(entry))
            pipe.multi()
            if dropped:
                pipe.zrem(k.segments, *dropped)
                pipe.hdel(k.segment_runs, *dropped)
            for run in runs:
                pipe.zadd(k.segments, {run.first_window: run.start})
                pipe.hset(k.segment_runs, run.first_window, records.run_json(run))
            if entries:
                pipe.hset(k.meta, "seg_upto", _num(max(e.start for e in entries)))

        self.client.transaction(rebuild, k.timeline, k.entries, k.segments, k.segment_runs)

    def refresh_summary(self, stream_id: str) -> None:
        """Recomputes the rolling summary from the stream's totals and its newest segments."""
        k = StreamKeys(stream_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hlen(k.entries)
        pipe.zcard(k.failed)
        pipe.zrange(k.timeline, 0, 0, withscores=True)
        pipe.hget(k.meta, "last_end")
        pipe.zcard(k.segments)
        pipe.zrevrange(k.segments, 0, self.summary_segments - 1)
        windows, failed, first, last_end, segment_count, recent = pipe.execute()
        runs = self.client.hmget(k.segment_runs, recent) if recent else []
        segments = [records.run_from_json(stream_id, raw).segment(()) for raw in reversed(runs) if raw]
        summary = summarize_totals(
            stream_id, segments, windows=windows, failed=failed,
            start=first[0][1] if first else 0.0, end=float(last_end or 0.0), segment_count=segment_count,
        )
        self.client.hset(k.summary, mapping={
            "text": summary.text, "start": _num(summary.start), "end": _num(summary.end),
            "method": summary.method, "windows": summary.windows,
        })

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _load_run(pipe, k: StreamKeys, segment_id: bytes | str) -> SegmentRun | None:
        raw = pipe.hget(k.segment_runs, segment_id)
        return records.run_from_json(k.stream_id, raw) if raw else None

    @staticmethod
    def _entries_after(pipe, k: StreamKeys, since: float, *, inclusive: bool) -> list[TimelineEntry]:
        """Timeline entries starting after (or at, when ``inclusive``) ``since``, in time order."""
        low = "-inf" if since == _NEG_INF else (_num(since) if inclusive else "(" + _num(since))
        ids = pipe.zrangebyscore(k.timeline, low, "+inf")
        if not ids:
            return []
        raws = pipe.hmget(k.entries, ids)
        entries = [records.entry_from_json(k.stream_id, raw) for raw in raws if raw]
        return sorted(entries, key=lambda e: (e.start, e.end, e.window_id))
