"""Reading what the summarizer stored (asyncio): streams, timelines, segments, summaries, updates.

The gRPC servicer's data source. Returns domain types; raises ``UnknownStream`` for a stream with
nothing stored and ``InvalidInput`` for a bad time range. Redis errors propagate.
"""
from __future__ import annotations

import asyncio

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from services.aggregation import SegmentRun
from core.errors import InvalidInput, UnknownStream
from core.types import Segment, StreamEvent, StreamState, Summary, TimelineEntry
from services.summarizer import keys, records
from services.summarizer.keys import StreamKeys


@dataclass(frozen=True)
class StreamInfo:
    stream_id: str
    source: str
    state: StreamState | None
    windows: int
    first_start: float
    last_end: float
    updated_unix: float


@dataclass(frozen=True)
class Update:
    """One change pushed by Watch: a timeline entry written or a stream event recorded."""

    id: str
    entry: TimelineEntry | None = None
    event: StreamEvent | None = None


def _consume(task: asyncio.Future) -> None:
    """Retrieve a shielded read's outcome, so that a read whose caller was cancelled logs nothing."""
    if not task.cancelled():
        task.exception()


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_range(start: float, end: float) -> None:
    """``[start, end)`` in seconds; ``end`` 0 means open-ended (both 0: everything)."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidInput(f"time range [{start}, {end}) is not finite")
    if start < 0 or end < 0:
        raise InvalidInput(f"time range [{start}, {end}) has a negative bound")
    if end != 0 and end <= start:
        raise InvalidInput(f"time range [{start}, {end}) is empty: end must be greater than start")


class SummaryReader:
    """Queries over one Redis database written by ``SummaryStore``."""

    def __init__(self, client: aioredis.Redis):
        self.client = client

    async def _require(self, stream_id: str) -> StreamKeys:
        if not stream_id:
            raise InvalidInput("no stream id given")
        if not await self.client.sismember(keys.STREAMS, stream_id):
            raise UnknownStream(f"unknown stream {stream_id!r}: the summarizer has stored nothing for it")
        return StreamKeys(stream_id)

    async def require_known(self, stream_ids) -> None:
        """UnknownStream naming the first of ``stream_ids`` the summarizer has stored nothing for."""
        for stream_id in stream_ids:
            await self._require(stream_id)

    async def list_streams(self) -> list[StreamInfo]:
        ids = sorted(_s(m) for m in await self.client.smembers(keys.STREAMS))
        pipe = self.client.pipeline(transaction=False)
        for stream_id in ids:
            k = StreamKeys(stream_id)
            pipe.hgetall(k.meta)
            pipe.hlen(k.entries)
            pipe.zrange(k.timeline, 0, 0, withscores=True)
        replies = await pipe.execute()
        infos = []
        for i, stream_id in enumerate(ids):
            meta, windows, first = replies[3 * i: 3 * i + 3]
            meta = {_s(a): _s(b) for a, b in meta.items()}
            infos.append(StreamInfo(
                stream_id=stream_id, source=meta.get("source", ""),
                state=StreamState(meta["state"]) if meta.get("state") else None,
                windows=int(windows), first_start=first[0][1] if first else 0.0,
                last_end=float(meta.get("last_end", 0.0)), updated_unix=float(meta.get("updated", 0.0)),
            ))
        return infos

    async def timeline(self, stream_id: str, start: float = 0.0, end: float = 0.0) -> list[TimelineEntry]:
        """Entries whose window starts inside ``[start, end)``, in time order."""
        check_range(start, end)
        k = await self._require(stream_id)
        high = "+inf" if end == 0 else "(" + repr(float(end))
        ids = await self.client.zrangebyscore(k.timeline, repr(float(start)), high)
        if not ids:
            return []
        raws = await self.client.hmget(k.entries, ids)
        entries = [records.entry_from_json(stream_id, raw) for raw in raws if raw]
        return sorted(entries, key=lambda e: (e.start, e.end, e.window_id))

    async def segments(self, stream_id: str, start: float = 0.0, end: float = 0.0) -> list[Segment]:
        """Segments overlapping ``[start, end)``, with their window ids, in time order."""
        check_range(start, end)
        k = await self._require(stream_id)
        high = "+inf" if end == 0 else "(" + repr(float(end))
        # the last segment starting before ``start`` overlaps the range when it ends after ``start``
        before = await self.client.zrevrangebyscore(k.segments, "(" + repr(float(start)), "-inf", start=0, num=1)
        inside = await self.client.zrangebyscore(k.segments, repr(float(start)), high)
        runs = []
        for ids, keep in ((before, lambda r: r.end > start), (inside, lambda r: True)):
            raws = await self.client.hmget(k.segment_runs, ids) if ids else []
            runs += [run for run in (records.run_from_json(stream_id, raw) for raw in raws if raw) if keep(run)]
        return [await self._with_windows(k, run) for run in runs]

    async def _with_windows(self, k: StreamKeys, run: SegmentRun) -> Segment:
        """The run as a Segment: its window ids are the successful entries from its first to its last window."""
        ids = [_s(m) for m in await self.client.zrangebyscore(k.timeline, repr(run.start), repr(run.last_start))]
        failed = {_s(m) for m in await self.client.zrangebyscore(k.failed, repr(run.start), repr(run.last_start))}
        return run.segment([i for i in ids if i not in failed])

    async def summary(self, stream_id: str) -> Summary:
        k = await self._require(stream_id)
        raw = {_s(a): _s(b) for a, b in (await self.client.hgetall(k.summary)).items()}
        if not raw:  # only events so far
            return Summary(stream_id=stream_id, text="No windows yet.", start=0.0, end=0.0)
        return Summary(stream_id=stream_id, text=raw["text"], start=float(raw["start"]), end=float(raw["end"]),
                       method=raw["method"], windows=int(raw["windows"]))

    async def events(self, stream_id: str) -> list[StreamEvent]:
        k = await self._require(stream_id)
        return [records.event_from_json(stream_id, raw) for raw in await self.client.zrange(k.events, 0, -1)]

    # --- updates (Watch) ----------------------------------------------------------------------

    async def last_update_id(self) -> str:
        """The id of the newest update, or ``0-0``: a watcher reads what comes after it."""
        newest = await self.client.xrevrange(keys.UPDATES, count=1)
        return _s(newest[0][0]) if newest else "0-0"

    async def updates_after(self, last_id: str, *, block_ms: int, count: int = 100,
                            stream_ids: frozenset[str] = frozenset()) -> tuple[str, list[Update]]:
        """Updates after ``last_id`` (waiting up to ``block_ms``), only of ``stream_ids`` when given.

        Returns the id to continue from and the updates, oldest first.
        """
        # Shielded: a Watch cancelled mid-read (its client went away) lets the read finish within ``block_ms``
        # and hand its connection back to the pool; cancelled inside redis-py, connections leaked until the
        # pool's 100 were gone and every RPC answered UNAVAILABLE (found by the RPC fuzzer at 1000 inputs).
        read = asyncio.ensure_future(self.client.xread({keys.UPDATES: last_id}, count=count, block=block_ms))
        read.add_done_callback(_consume)
        reply = await asyncio.shield(read)
        out: list[Update] = []
        for _, items in reply or ():
            for item_id, fields in items:
                last_id = _s(item_id)
                f = {_s(a): b for a, b in fields.items()}
                stream_id = _s(f["stream"])
                if stream_ids and stream_id not in stream_ids:
                    continue
                if _s(f["kind"]) == "entry":
                    out.append(Update(last_id, entry=records.entry_from_json(stream_id, f["data"])))
                else:
                    out.append(Update(last_id, event=records.event_from_json(stream_id, f["data"])))
        return last_id, out
