"""``vila.v1.Summaries`` over gRPC: translates between protobuf and the reader's domain types.

Errors become statuses through the one map of every servicer (``core.transport.grpc_errors.mapped``):
``UnknownStream`` → NOT_FOUND, ``InvalidInput`` → INVALID_ARGUMENT, a Redis failure → UNAVAILABLE, a bug →
INTERNAL with one line.
"""
from __future__ import annotations

import asyncio

from vila.v1 import results_pb2, summaries_pb2, summaries_pb2_grpc

from core.convert import entry_to_pb, event_to_pb, segment_to_pb, summary_to_pb
from core.transport.grpc_errors import mapped
from services.summarizer.reader import StreamInfo, SummaryReader

SERVICE = summaries_pb2.DESCRIPTOR.services_by_name["Summaries"]
_status = mapped("vila.summarizer.grpc")

def _info_to_pb(info: StreamInfo) -> summaries_pb2.StreamInfo:
    return summaries_pb2.StreamInfo(
        stream_id=info.stream_id, source=info.source,
        state=(results_pb2.StreamState.Value(f"STREAM_STATE_{info.state.name}") if info.state
               else results_pb2.STREAM_STATE_UNSPECIFIED),
        windows=info.windows, first_start=info.first_start, last_end=info.last_end,
        updated_unix=info.updated_unix,
    )



class SummariesServicer(summaries_pb2_grpc.SummariesServicer):
    """Serves the stored timelines. ``stopping`` ends open Watch calls at shutdown."""

    def __init__(self, reader: SummaryReader, *, watch_block_ms: int = 1000):
        self.reader = reader
        self.watch_block_ms = watch_block_ms
        self.stopping = asyncio.Event()

    @_status
    async def ListStreams(self, request, context):
        return summaries_pb2.ListStreamsResponse(
            streams=[_info_to_pb(i) for i in await self.reader.list_streams()])

    @_status
    async def GetTimeline(self, request, context):
        entries = await self.reader.timeline(request.stream_id, request.start, request.end)
        segments = (await self.reader.segments(request.stream_id, request.start, request.end)
                    if request.include_segments else [])
        return summaries_pb2.GetTimelineResponse(
            entries=[entry_to_pb(e) for e in entries], segments=[segment_to_pb(s) for s in segments])

    @_status
    async def GetSummary(self, request, context):
        return summary_to_pb(await self.reader.summary(request.stream_id))

    @_status
    async def Watch(self, request, context):
        """Pushes entries and events written after the call began.

        A named stream the summarizer has stored nothing for is NOT_FOUND, unless ``wait_for_new``.
        Initial metadata is sent once the starting point is fixed, so a client that waits for it
        knows that everything written afterwards reaches it. A replaced entry is pushed again
        (same window id): clients upsert by window id.
        """
        wanted = frozenset(s for s in request.stream_ids if s)
        if not request.wait_for_new:  # a typo is NOT_FOUND at once, not a silent wait until the deadline
            await self.reader.require_known(sorted(wanted))
        last_id = await self.reader.last_update_id()
        await context.send_initial_metadata(())
        while not self.stopping.is_set() and not context.done():  # done: the client went away
            last_id, updates = await self.reader.updates_after(
                last_id, block_ms=self.watch_block_ms, stream_ids=wanted)
            for u in updates:
                if u.entry is not None:
                    await context.write(summaries_pb2.WatchUpdate(entry=entry_to_pb(u.entry)))
                else:
                    await context.write(summaries_pb2.WatchUpdate(event=event_to_pb(u.event)))
