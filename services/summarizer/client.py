"""A blocking client of ``vila.v1.Summaries`` that speaks domain types (the CLI and tests use it).

Failures become typed errors with one line for the user: an unreachable server is
``BrokerUnavailable`` (exit 5), an unknown stream ``UnknownStream`` (exit 2), a bad range
``InvalidInput`` (exit 2).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc
from vila.v1 import results_pb2, summaries_pb2, summaries_pb2_grpc

from core.convert import entry_from_pb, event_from_pb, segment_from_pb, summary_from_pb
from core.errors import BrokerUnavailable, VilaError
from core.transport.grpc_errors import from_rpc_error
from core.types import Segment, StreamEvent, StreamState, Summary, TimelineEntry
from services.summarizer.reader import StreamInfo
from services.summarizer.settings import ADDRESS_ENV, client_address


def _state_from_pb(value: int) -> StreamState | None:
    if value == results_pb2.STREAM_STATE_UNSPECIFIED:
        return None
    return StreamState[results_pb2.StreamState.Name(value).removeprefix("STREAM_STATE_")]


class SummariesClient:
    """Calls one summarizer at ``address`` (``host:port``; default ``client_address()``: ``VILA_SUMMARIZER_ADDRESS``
    or the local cluster's); each call waits at most ``timeout_s``."""

    def __init__(self, address: str | None = None, *, timeout_s: float = 10.0):
        self.address = address or client_address()
        self.timeout_s = timeout_s
        self.channel = grpc.insecure_channel(self.address, options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        self.stub = summaries_pb2_grpc.SummariesStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "SummariesClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _error(self, exc: grpc.RpcError) -> VilaError:
        code, details = exc.code(), exc.details() or ""
        if code == grpc.StatusCode.UNAVAILABLE and "Redis" in details:
            return BrokerUnavailable(f"the summarizer at {self.address} cannot read its store: {details}")
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return BrokerUnavailable(f"the summarizer at {self.address} is unreachable ({code.name.lower()}); "
                                     f"is the cluster up? (set {ADDRESS_ENV} or --server)")
        return from_rpc_error(exc)  # the typed error the summarizer reported (unknown stream, bad range, ...)

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise self._error(exc) from None

    def list_streams(self) -> list[StreamInfo]:
        reply = self._call(self.stub.ListStreams, summaries_pb2.ListStreamsRequest())
        return [StreamInfo(stream_id=s.stream_id, source=s.source, state=_state_from_pb(s.state),
                           windows=s.windows, first_start=s.first_start, last_end=s.last_end,
                           updated_unix=s.updated_unix) for s in reply.streams]

    def timeline(self, stream_id: str, start: float = 0.0, end: float = 0.0, *,
                 segments: bool = False) -> tuple[list[TimelineEntry], list[Segment]]:
        """Entries starting in ``[start, end)`` (all when both are 0) and, on request, the segments."""
        reply = self._call(self.stub.GetTimeline, summaries_pb2.GetTimelineRequest(
            stream_id=stream_id, start=start, end=end, include_segments=segments))
        return [entry_from_pb(e) for e in reply.entries], [segment_from_pb(s) for s in reply.segments]

    def summary(self, stream_id: str) -> Summary:
        return summary_from_pb(self._call(self.stub.GetSummary, summaries_pb2.GetSummaryRequest(stream_id=stream_id)))

    def watch(self, stream_ids: Sequence[str] = (), *,
              wait_for_new: bool = False) -> Iterator[TimelineEntry | StreamEvent]:
        """Entries and events as they are written, until the server ends the call or the caller stops.
        ``UnknownStream`` for a named stream with nothing stored yet, unless ``wait_for_new``."""
        call = self.stub.Watch(summaries_pb2.WatchRequest(stream_ids=list(stream_ids), wait_for_new=wait_for_new))
        try:
            for update in call:
                if update.HasField("entry"):
                    yield entry_from_pb(update.entry)
                else:
                    yield event_from_pb(update.event)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise self._error(exc) from None
        finally:
            call.cancel()
