"""Every vila.v1.Inference RPC over real gRPC on loopback, served by the real tiny model; bad requests' codes.

The edge worker's answers are compared with ``edge_model``: the tiny checkpoint loaded the way the worker
loads it (``load_for_tier``, so int8-quantised as the edge tier says), not with the float32 ``tiny_model``.
"""
from __future__ import annotations

import math

import grpc
import pytest
from vila.v1 import inference_pb2

from core.prompts import SUMMARY_INSTRUCTION
from core.convert import result_from_pb, window_to_pb
from tests.support.model_fixtures import jpeg_bytes, scene_frames
from tests.workers.server.harness import InProcessWorker, batch_size, caption_request, frame_window, worker_settings
from workers.engine.frames import decode_sampled
from workers.engine import engine
from workers.tiers import get_tier, load_for_tier

LABELS = ["a person walking", "a car moving", "nothing moving"]


@pytest.fixture(scope="module")
def worker(tiny_model_dir):
    w = InProcessWorker(worker_settings(tiny_model_dir, max_message_mb=1, max_frames=16, max_wait_ms=0))
    w.call(w.app.start())
    yield w
    w.close()


@pytest.fixture(scope="module")
def edge_model(tiny_model_dir):
    """The model as the edge worker loads it (the tier's dtype, quantisation and vision backend)."""
    return load_for_tier(tiny_model_dir, get_tier("edge"))


@pytest.fixture(scope="module")
def stub(worker):
    return worker.connect()


def sampled(seq: int = 0):
    return [decode_sampled(frame_window(seq), 4)]  # the edge tier gives the model 4 of the window's 6 frames


def test_caption_is_the_models_caption_with_scores_and_the_window_fields(stub, edge_model):
    window = frame_window(3)
    result = result_from_pb(stub.Caption(inference_pb2.CaptionRequest(window=window_to_pb(window), labels=LABELS)))
    assert (result.stream_id, result.window_id, result.seq, result.start, result.end, result.activity) == (
        window.stream_id, window.window_id, window.seq, window.start, window.end, window.activity)
    assert result.tier == "edge" and result.model_id == edge_model.info.model_id and result.error == ""
    assert result.caption == edge_model.caption(sampled(3), max_new_tokens=32)[0]  # the edge tier's budget
    expected = edge_model.score_labels(sampled(3), LABELS)[0]
    assert [a.label for a in result.actions] == [a.label for a in expected]
    assert all(math.isclose(a.score, e.score, rel_tol=1e-4) for a, e in zip(result.actions, expected))
    assert result.thumbnail_jpeg == window.frames[3].jpeg and result.latency_ms > 0


def test_caption_prompt_and_budget_are_honoured_and_labels_are_optional(stub, edge_model):
    reply = stub.Caption(caption_request(1, prompt="What moves?", max_new_tokens=5))
    assert reply.caption == edge_model.caption(sampled(1), prompt="What moves?", max_new_tokens=5)[0]
    assert list(reply.actions) == []


def test_recognize_actions_scores_every_label(stub, edge_model):
    reply = stub.RecognizeActions(inference_pb2.RecognizeActionsRequest(
        window=window_to_pb(frame_window(2)), labels=LABELS, question="What happens?"))
    assert reply.window.window_id == "cam:2" and sorted(a.label for a in reply.actions) == sorted(LABELS)
    assert math.isclose(sum(a.score for a in reply.actions), 1.0, abs_tol=1e-5)
    expected = edge_model.score_labels(sampled(2), LABELS, question="What happens?")[0]
    assert [a.label for a in reply.actions] == [e.label for e in expected]


def test_ask_answers_the_question(stub, edge_model):
    reply = stub.Ask(inference_pb2.AskRequest(window=window_to_pb(frame_window(4)), question="Is it red?",
                                              max_new_tokens=6))
    assert reply.window.seq == 4
    assert reply.answer == edge_model.ask(sampled(4), ["Is it red?"], max_new_tokens=6)[0]


def test_summarize_text_uses_the_timeline_instruction_by_default(stub, edge_model):
    text = "00:00-00:04: a red square moves right\n00:04-00:08: nothing moves"
    reply = stub.SummarizeText(inference_pb2.SummarizeTextRequest(text=text, max_new_tokens=12))
    assert reply.summary == edge_model.generate_text([SUMMARY_INSTRUCTION + "\n" + text], max_new_tokens=12)[0]
    custom = stub.SummarizeText(inference_pb2.SummarizeTextRequest(text=text, instruction="List it.",
                                                                   max_new_tokens=12))
    assert custom.summary == edge_model.generate_text(["List it.\n" + text], max_new_tokens=12)[0]


def test_info_reports_model_and_tier(stub, edge_model):
    info = stub.Info(inference_pb2.InfoRequest())
    facts = edge_model.info
    assert (info.model_id, info.family, info.vision_tower, info.projector, info.template) == (
        facts.model_id, facts.family, facts.vision_tower, facts.projector, facts.template)
    assert (info.tokens_per_frame, info.parameters, info.dtype, info.device) == (
        facts.tokens_per_frame, facts.parameters, "float32", "cpu")
    assert (info.tier, info.frames_per_window, info.max_batch_size) == ("edge", 4, 4)


def _window_with(frames) -> inference_pb2.CaptionRequest:
    window = frame_window(0)
    pb = window_to_pb(window)
    del pb.frames[:]
    for jpeg in frames:
        pb.frames.add(jpeg=jpeg, width=96, height=72)
    return inference_pb2.CaptionRequest(window=pb)


def _window_at(start: float, end: float) -> inference_pb2.CaptionRequest:
    request = caption_request(0)
    request.window.start, request.window.end = start, end
    return request


GOOD = jpeg_bytes(scene_frames(1)[0])
BAD_REQUESTS = {
    "no frames": (lambda s: s.Caption(_window_with([])), "no frames"),
    "no window": (lambda s: s.Caption(inference_pb2.CaptionRequest()), "no frames"),
    "undecodable jpeg": (lambda s: s.Caption(_window_with([GOOD, b"\xff\xd8 not a jpeg", GOOD])),
                         "not a decodable JPEG"),
    "too many frames": (lambda s: s.Caption(_window_with([GOOD] * 17)), "17 frames; at most 16 are accepted (max_frames)"),
    "oversized message": (lambda s: s.Caption(_window_with([b"\0" * (1536 << 10)])), "(max_message_mb)"),
    "empty question": (lambda s: s.Ask(inference_pb2.AskRequest(window=window_to_pb(frame_window(0)),
                                                                question="  ")), "question is empty"),
    "no labels": (lambda s: s.RecognizeActions(inference_pb2.RecognizeActionsRequest(
        window=window_to_pb(frame_window(0)))), "labels is empty"),
    "blank label": (lambda s: s.Caption(caption_request(0, labels=["a car", " "])), "label 1 is blank"),
    "token budget": (lambda s: s.Caption(caption_request(0, max_new_tokens=5000)), "max_new_tokens"),
    "empty text": (lambda s: s.SummarizeText(inference_pb2.SummarizeTextRequest(text="")), "text is empty"),
    "NaN start": (lambda s: s.Caption(_window_at(float("nan"), 1.0)), "start nan is not a finite number"),
    "reversed window": (lambda s: s.Ask(inference_pb2.AskRequest(window=_window_at(3.0, 1.0).window,
                                                                 question="what?")), "end 1.0 is before start 3.0"),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_requests_get_invalid_argument_naming_the_problem(stub, name):
    send, detail = BAD_REQUESTS[name]
    with pytest.raises(grpc.RpcError) as caught:
        send(stub)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert detail in caught.value.details() and "\n" not in caught.value.details()


def test_beyond_the_transport_limit_grpc_itself_refuses(stub):
    # Twice max_message_mb is the transport limit: gRPC answers before any handler runs (documented).
    with pytest.raises(grpc.RpcError) as caught:
        stub.Caption(_window_with([b"\0" * (2 << 20) + b"\0" * 1024]))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_server_keeps_serving_after_bad_requests(stub):
    with pytest.raises(grpc.RpcError):
        stub.Caption(_window_with([]))
    reply, call = stub.Caption.with_call(caption_request(5))
    assert reply.error == "" and batch_size(call) == 1


def test_a_bug_is_internal_with_one_line_and_the_server_goes_on(stub, monkeypatch, edge_model):
    # A bug cannot be provoked through the real model on purpose: stand one in for the text operation.
    def broken(model, key, prompts):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(engine.OPERATIONS, "text", broken)
    with pytest.raises(grpc.RpcError) as caught:
        stub.SummarizeText(inference_pb2.SummarizeTextRequest(text="a car"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal: ZeroDivisionError: division by zero"
    monkeypatch.undo()
    reply = stub.SummarizeText(inference_pb2.SummarizeTextRequest(text="a car", max_new_tokens=4))
    assert reply.summary == edge_model.generate_text([SUMMARY_INSTRUCTION + "\na car"], max_new_tokens=4)[0]


def test_the_cloud_tier_profile_is_applied(tiny_model_dir, tiny_model):
    worker = InProcessWorker(worker_settings(tiny_model_dir, tier="cloud", warmup=False))
    try:
        worker.call(worker.app.start())
        stub = worker.connect()
        info = stub.Info(inference_pb2.InfoRequest())
        assert (info.tier, info.frames_per_window, info.max_batch_size, info.device) == ("cloud", 8, 16, "cpu")
        window = frame_window(7, count=12)
        reply = stub.Caption(inference_pb2.CaptionRequest(window=window_to_pb(window)))
        # 8 of the 12 frames, spread evenly, and the cloud tier's 64-token budget.
        assert reply.caption == tiny_model.caption([decode_sampled(window, 8)], max_new_tokens=64)[0]
        assert reply.tier == "cloud"
    finally:
        worker.close()
