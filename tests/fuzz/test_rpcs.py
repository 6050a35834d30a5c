"""Fuzz every RPC of the project's gRPC services over real sockets: the worker's ``vila.v1.Inference`` (the
tiny model behind it) and the summarizer's ``vila.v1.Summaries`` (a real Redis behind it).

Each request is sent as bytes, so the server's own parsing is fuzzed too: random bytes, valid requests
damaged, and requests that parse with absurd fields. Every call has a deadline. An answer is OK or a
refusal that names the problem (INVALID_ARGUMENT, NOT_FOUND); never INTERNAL or UNKNOWN (a bug), never
DEADLINE_EXCEEDED (a hang), and the server is still serving afterwards.
"""
from __future__ import annotations

from collections import Counter

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from vila.v1 import inference_pb2, media_pb2, summaries_pb2

from services.summarizer.store import SummaryStore
from tests.fuzz.strategies import FUZZ, GOOD_JPEG, absurd_window_pb, ids, noise, times
from tests.services.summarizer.helpers import SummariesServerThread, result
from tests.workers.server.harness import InProcessWorker, worker_settings

REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
DEADLINE_S = 30.0
KNOWN = "fuzz-known"

seen: dict[str, Counter] = {}


@pytest.fixture(scope="module")
def worker(tiny_model_dir):
    w = InProcessWorker(worker_settings(tiny_model_dir, max_wait_ms=0))
    w.call(w.app.start())
    channel = grpc.insecure_channel(w.app.target, options=[("grpc.max_send_message_length", 64 << 20)])
    yield channel
    channel.close()
    w.close()


@pytest.fixture(scope="module")
def summaries(redis_server):
    client = redis_server.client()
    SummaryStore(client).write_results([result(KNOWN, i) for i in range(4)])
    client.close()
    with SummariesServerThread(redis_server.url) as server, grpc.insecure_channel(server.target) as channel:
        yield channel


def unary(channel: grpc.Channel, method: str, raw: bytes) -> None:
    """Sends ``raw`` to ``method`` and checks the outcome class (see the module docstring)."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    counts = seen.setdefault(method, Counter())
    try:
        call(raw, timeout=DEADLINE_S)
        counts["OK"] += 1
    except grpc.RpcError as exc:
        counts[exc.code().name] += 1
        assert exc.code() in REFUSALS, (method, exc.code(), exc.details())
        assert "\n" not in (exc.details() or "") and len(exc.details() or "") <= 1000, exc.details()[:1200]


texts = st.one_of(st.text(max_size=60), st.just("word " * 5000))
tokens = st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1))
windows = absurd_window_pb(max_frames=6)
good_window = media_pb2.FrameWindow(stream_id="cam", window_id="cam:0", start=0, end=2,
                                    frames=[media_pb2.Frame(jpeg=GOOD_JPEG, pts=0.5, width=32, height=24)])

INFERENCE = {
    "Caption": st.builds(inference_pb2.CaptionRequest, window=windows, prompt=texts,
                         labels=st.lists(st.text(max_size=20), max_size=8), max_new_tokens=tokens),
    "RecognizeActions": st.builds(inference_pb2.RecognizeActionsRequest, window=windows,
                                  labels=st.lists(st.text(max_size=20), max_size=8), question=texts),
    "Ask": st.builds(inference_pb2.AskRequest, window=windows, question=texts, max_new_tokens=tokens),
    "SummarizeText": st.builds(inference_pb2.SummarizeTextRequest, text=texts, instruction=texts,
                               max_new_tokens=tokens),
}
VALID_INFERENCE = {
    "Caption": inference_pb2.CaptionRequest(window=good_window, labels=["walking"]),
    "RecognizeActions": inference_pb2.RecognizeActionsRequest(window=good_window, labels=["walking", "running"]),
    "Ask": inference_pb2.AskRequest(window=good_window, question="what is it doing?"),
    "SummarizeText": inference_pb2.SummarizeTextRequest(text="a car drives by"),
    "Info": inference_pb2.InfoRequest(),
}


some_ids = st.one_of(ids, st.just(KNOWN))
SUMMARIES = {
    "GetTimeline": st.builds(summaries_pb2.GetTimelineRequest, stream_id=some_ids, start=times, end=times,
                             include_segments=st.booleans()),
    "GetSummary": st.builds(summaries_pb2.GetSummaryRequest, stream_id=some_ids),
}
VALID_SUMMARIES = {
    "ListStreams": summaries_pb2.ListStreamsRequest(),
    "GetTimeline": summaries_pb2.GetTimelineRequest(stream_id=KNOWN, include_segments=True),
    "GetSummary": summaries_pb2.GetSummaryRequest(stream_id=KNOWN),
}


UNARY = [("Inference", n, VALID_INFERENCE[n], INFERENCE.get(n)) for n in sorted(VALID_INFERENCE)] + [
    ("Summaries", n, VALID_SUMMARIES[n], SUMMARIES.get(n)) for n in sorted(VALID_SUMMARIES)]


@pytest.mark.parametrize("service,name,valid,absurd", UNARY, ids=[f"{s}.{n}" for s, n, _, _ in UNARY])
def test_unary_rpcs(request, service, name, valid, absurd):
    channel = request.getfixturevalue("worker" if service == "Inference" else "summaries")
    method = f"/vila.v1.{service}/{name}"
    requests = noise(valid.SerializeToString())
    if absurd is not None:
        requests = st.one_of(requests, absurd.map(lambda m: m.SerializeToString()))

    @FUZZ
    @given(requests)
    def fuzz(raw):
        unary(channel, method, raw)

    fuzz()
    unary(channel, method, valid.SerializeToString())  # still serving
    counts = seen[method]
    print(f"fuzz {method}: {sum(counts.values())} inputs, {dict(counts)}")
    assert counts["OK"] and sum(counts.values()) > counts["OK"]


WATCH_VALID = summaries_pb2.WatchRequest(stream_ids=[KNOWN]).SerializeToString()


def test_watch(summaries):
    """A Watch either opens (initial metadata: the starting point is fixed) or is refused with a reason."""
    call = summaries.unary_stream("/vila.v1.Summaries/Watch", request_serializer=None, response_deserializer=None)
    counts = seen.setdefault("Watch", Counter())
    requests = st.builds(summaries_pb2.WatchRequest, stream_ids=st.lists(some_ids, max_size=4),
                         wait_for_new=st.booleans()).map(lambda m: m.SerializeToString())

    @FUZZ
    @given(st.one_of(noise(WATCH_VALID), requests))
    def fuzz(raw):
        stream = call(raw, timeout=DEADLINE_S)
        try:
            stream.initial_metadata()
            if stream.done():  # refused: the status came with (or right after) the headers
                stream.code()
                raise stream
            counts["opened"] += 1
        except grpc.RpcError as exc:
            counts[exc.code().name] += 1
            assert exc.code() in REFUSALS, (exc.code(), exc.details())
        finally:
            stream.cancel()

    fuzz()
    print(f"fuzz Watch: {sum(counts.values())} inputs, {dict(counts)}")
    assert counts["opened"] and counts["NOT_FOUND"]
    unary(summaries, "/vila.v1.Summaries/ListStreams", b"")  # still serving
