"""One record to one outcome: decode failures, worker failures and escalation (pure policy).

The worker call is a plain async function here; the real gRPC path is covered by
test_dispatcher_kafka.py against a real worker.
"""
from __future__ import annotations

import asyncio

import pytest

from core.errors import InvalidRequest, Unavailable, WorkerCallFailed
from core.types import ActionScore, Frame, FrameWindow, WindowResult
from services.dispatcher.escalation import parse_rule
from services.dispatcher.handler import DeadLetter, Publish, WindowHandler
from services.dispatcher.routing import TierRouter
from core.transport.kafka import encode_window

WINDOW = FrameWindow(stream_id="cam1", window_id="cam1:0:x", seq=0, start=0, end=1,
                     frames=(Frame(b"\xff\xd8", 0.0, 2, 2),))


def answer(tier, caption="a person walks", score=0.9, fail=None):
    async def caption_fn(t, window):
        calls.append(t)
        if fail and t in fail:
            error = fail[t]
            raise (WorkerCallFailed(error, 3, "127.0.0.1:1") if isinstance(error, (InvalidRequest, Unavailable))
                   else error)
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
    fn, calls = answer("edge", fail={"cloud": Unavailable("connection refused")})
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("caption:walks")))
    assert calls == ["edge", "cloud"] and isinstance(outcome, Publish) and outcome.result.tier == "edge"


def test_worker_failure_goes_to_the_dlq_with_the_workers_reason():
    fn, _ = answer("edge", fail={"edge": InvalidRequest("frame 0 is not a decodable JPEG")})
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule("")))
    assert isinstance(outcome, DeadLetter) and outcome.stage == "infer" and outcome.stream_id == "cam1"
    assert outcome.reason == "invalid-request: frame 0 is not a decodable JPEG (worker 127.0.0.1:1, 3 attempts)"


@pytest.mark.parametrize("retries", [0, 2])
def test_an_unexpected_error_is_tried_again_then_dead_lettered_as_internal(retries):
    fn, calls = answer("edge", fail={"edge": KeyError("boom")})
    outcome = run(WindowHandler(fn, TierRouter(), parse_rule(""), internal_retries=retries))
    assert calls == ["edge"] * (retries + 1)
    assert isinstance(outcome, DeadLetter) and outcome.reason == "internal: KeyError: 'boom'"


def test_an_unexpected_error_that_goes_away_publishes():
    fn, calls = answer("edge")
    failures = [RuntimeError("once")]

    async def flaky(tier, window):
        if failures:
            raise failures.pop()
        return await fn(tier, window)

    outcome = run(WindowHandler(flaky, TierRouter(), parse_rule(""), internal_retries=1))
    assert isinstance(outcome, Publish) and calls == ["edge"]
