"""One record to one outcome: decode failures, worker failures and escalation (pure policy).

The worker call is a plain async function here; the real gRPC path is covered by
test_dispatcher_kafka.py against a real worker.
"""
from __future__ import annotations

import asyncio

import grpc

from core.types import ActionScore, Frame, FrameWindow, WindowResult
from services.dispatcher.escalation import parse_rule
from services.dispatcher.handler import DeadLetter, Publish, WindowHandler
from services.dispatcher.pool import WorkerCallFailed
from services.dispatcher.routing import TierRouter
from core.transport.kafka import encode_window

WINDOW = FrameWindow(stream_id="cam1", window_id="cam1:0:x", seq=0, start=0, end=1,
                     frames=(Frame(b"\xff\xd8", 0.0, 2, 2),))


def answer(tier, caption="a person walks", score=0.9, fail=None):
    async def caption_fn(t, window):
        calls.append(t)
        if fail and t in fail:
            raise WorkerCallFailed(fail[t], "boom", 3, "127.0.0.1:1")
        return WindowResult(stream_id=window.stream_id, window_id=window.window_id, seq=window.seq,
                            start=window.start, end=window.end, caption=f"{t}: {caption}", tier=t,
                            actions=(ActionScore("a person walking", score),))
    calls: list[str] = []
    return caption_fn, calls


def run(handler, value=None):
    return asyncio.run(handler.handle(encode_window(WINDOW) if value is None else value))


def test_garbage_goes_to_the_dlq_at_the_decode_stage():
    fn, calls = answer("edge")
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("")), b"\x00garbage\xff")
    assert isinstance(outcome, DeadLetter) and outcome.stage == "decode"
    assert outcome.reason.startswith("undecodable-record:") and calls == []


def test_routing_picks_the_stream_tier():
    fn, calls = answer("cloud")
    outcome = run(WindowHandler(fn, TierRouter("edge", {"cam1": "cloud"}), parse_rule("")))
    assert isinstance(outcome, Publish) and outcome.result.tier == "cloud" and calls == ["cloud"]


def test_a_matching_edge_result_is_replaced_by_the_cloud_result():
    fn, calls = answer("edge")
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("action:a person walking>=0.5")))
    assert calls == ["edge", "cloud"]
    assert outcome.result.tier == "cloud" and "a person walking" in outcome.escalated


def test_no_escalation_below_the_threshold():
    fn, calls = answer("edge", score=0.2)
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("action:a person walking>=0.5")))
    assert calls == ["edge"] and outcome.result.tier == "edge" and outcome.escalated == ""


def test_failed_escalation_publishes_the_edge_result():
    fn, calls = answer("edge", fail={"cloud": grpc.StatusCode.UNAVAILABLE})
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("caption:walks")))
    assert calls == ["edge", "cloud"] and isinstance(outcome, Publish) and outcome.result.tier == "edge"


def test_worker_failure_goes_to_the_dlq_with_the_status():
    fn, _ = answer("edge", fail={"edge": grpc.StatusCode.INVALID_ARGUMENT})
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("")))
    assert isinstance(outcome, DeadLetter) and outcome.stage == "infer" and outcome.stream_id == "cam1"
    assert outcome.reason.startswith("worker-invalid-argument: INVALID_ARGUMENT from 127.0.0.1:1")
