"""vila.v1.Summaries over real gRPC on loopback, backed by a real Redis."""
from __future__ import annotations

import queue
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from vila.v1 import results_pb2, summaries_pb2, summaries_pb2_grpc

from core.types import StreamEvent, StreamState
from services.summarizer.store import SummaryStore
from tests.services.summarizer.helpers import SummariesServerThread, new_stream_id, result


@pytest.fixture(scope="module")
def server(redis_server):
    with SummariesServerThread(redis_server.url) as s:
        yield s


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(server.target) as channel:
        yield summaries_pb2_grpc.SummariesStub(channel)


@pytest.fixture
def store(redis_server):
    c = redis_server.client()
    yield SummaryStore(c)
    c.close()


def test_list_timeline_summary(stub, store):
    sid = new_stream_id()
    store.write_events([StreamEvent(sid, StreamState.LIVE, 10.0, extra={"source": "clip.mp4"})])
    store.write_results([result(sid, i) for i in range(9)])
    infos = {s.stream_id: s for s in stub.ListStreams(summaries_pb2.ListStreamsRequest()).streams}
    info = infos[sid]
    assert (info.windows, info.source, info.state) == (9, "clip.mp4", results_pb2.STREAM_STATE_LIVE)
    assert (info.first_start, info.last_end) == (0.0, 18.0)

    reply = stub.GetTimeline(summaries_pb2.GetTimelineRequest(stream_id=sid, start=2.0, end=8.0))
    assert [e.start for e in reply.entries] == [2.0, 4.0, 6.0] and not reply.segments
    reply = stub.GetTimeline(summaries_pb2.GetTimelineRequest(stream_id=sid, include_segments=True))
    assert len(reply.entries) == 9
    assert [(s.start, s.end, len(s.window_ids)) for s in reply.segments] == [(0, 6, 3), (6, 12, 3), (12, 18, 3)]

    summary = stub.GetSummary(summaries_pb2.GetSummaryRequest(stream_id=sid))
    assert summary.windows == 9 and summary.method == "extractive"
    assert summary.text.startswith("9 windows over 00:00.0–00:18.0 in 3 segments.")


def test_unknown_stream_is_not_found_and_bad_range_invalid_argument(stub, store):
    sid = new_stream_id()
    store.write_results([result(sid, 0)])
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTimeline(summaries_pb2.GetTimelineRequest(stream_id="no-such-stream"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "no-such-stream" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub.GetSummary(summaries_pb2.GetSummaryRequest(stream_id="no-such-stream"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    for start, end in ((8.0, 4.0), (-2.0, 0.0), (3.0, 3.0)):
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTimeline(summaries_pb2.GetTimelineRequest(stream_id=sid, start=start, end=end))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (start, end)


def test_watch_pushes_only_what_is_written_after_it_subscribed(server, store):
    watched, other = new_stream_id("watched"), new_stream_id("other")
    store.write_results([result(watched, 0)])  # before the watch: not pushed
    updates: queue.Queue = queue.Queue()
    with grpc.insecure_channel(server.target) as channel:
        call = summaries_pb2_grpc.SummariesStub(channel).Watch(summaries_pb2.WatchRequest(stream_ids=[watched]))
        call.initial_metadata()  # the server fixed its starting point: later writes reach us

        def drain():
            try:
                for u in call:
                    updates.put(u)
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        store.write_results([result(other, 0), result(watched, 1)])
        store.write_results([result(watched, 1)])  # redelivery: nothing new to push
        store.write_events([StreamEvent(watched, StreamState.ENDED, 50.0), StreamEvent(other, StreamState.ENDED, 50.0)])
        store.write_results([result(watched, 2)])
        got = [updates.get(timeout=15) for _ in range(3)]
        call.cancel()
        reader.join(5)
    assert [u.WhichOneof("update") for u in got] == ["entry", "event", "entry"]
    assert got[0].entry.window_id == result(watched, 1).window_id
    assert got[1].event.state == results_pb2.STREAM_STATE_ENDED and got[1].event.stream_id == watched
    assert got[2].entry.window_id == result(watched, 2).window_id
    assert updates.empty()


def test_watch_of_a_stream_with_nothing_stored_is_not_found_unless_waiting_for_new(server, store):
    """Before, it waited silently until the deadline: a typo looked like a quiet camera."""
    known, fresh = new_stream_id("known"), new_stream_id("fresh")
    store.write_results([result(known, 0)])
    with grpc.insecure_channel(server.target) as channel:
        stub = summaries_pb2_grpc.SummariesStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            next(stub.Watch(summaries_pb2.WatchRequest(stream_ids=[known, "no-such-stream"]), timeout=30))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND and "'no-such-stream'" in err.value.details()
        call = stub.Watch(summaries_pb2.WatchRequest(stream_ids=[fresh], wait_for_new=True), timeout=30)
        call.initial_metadata()  # accepted and subscribed
        store.write_results([result(fresh, 0)])
        assert next(call).entry.window_id == result(fresh, 0).window_id
        call.cancel()


def test_health_serving_and_reflection_lists_the_services(server):
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "vila.v1.Summaries"):
            assert health.Check(health_pb2.HealthCheckRequest(service=name)).status == \
                health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        [reply] = list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in reply.list_services_response.service}
        assert {"vila.v1.Summaries", "grpc.health.v1.Health"} <= names
