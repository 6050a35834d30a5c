"""Fuzz the Kafka record codecs every consumer uses (``core.transport.kafka``): vila.windows.v1's FrameWindow
(the dispatcher), vila.results.v1's WindowResult (the summarizer) and vila.events.v1's StreamEvent.

Every input either decodes to a value every later stage can take (a stream id a Kafka key and a Redis key
can carry, a finite span, finite scores) or raises ``UndecodableRecord``, whose one-line reason the
consumer writes to the DLQ. Nothing else may escape: anything else would be retried and then
dead-lettered as ``internal``, the sign of a bug.
"""
from __future__ import annotations

import math
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st
from vila.v1 import media_pb2, results_pb2

from core.errors import UndecodableRecord, describe
from core.ids import stream_id_problem
from core.transport import kafka as kt
from core.types import StreamState
from tests.fuzz.strategies import FUZZ, GOOD_JPEG, absurd_result_pb, absurd_window_pb, noise

VALID_WINDOW = media_pb2.FrameWindow(
    stream_id="cam", window_id="cam:0:abc", seq=0, start=0.0, end=2.0, activity=0.5,
    frames=[media_pb2.Frame(jpeg=GOOD_JPEG, pts=0.5, width=32, height=24)]).SerializeToString()
VALID_RESULT = results_pb2.WindowResult(
    window=results_pb2.WindowRef(stream_id="cam", window_id="cam:0:abc", start=0.0, end=2.0), tier="edge",
    caption="a red circle moves left", actions=[results_pb2.ActionScore(label="moving left", score=0.9)],
    activity=0.5).SerializeToString()
VALID_EVENT = results_pb2.StreamEvent(stream_id="cam", state=results_pb2.STREAM_STATE_LIVE,
                                      time_unix=1.0e9, detail="connected").SerializeToString()

def outcome(counts: Counter, decode, raw: bytes):
    """The decoded value, or None after checking that the refusal is a one-line ``UndecodableRecord``."""
    try:
        value = decode(raw)
    except UndecodableRecord as exc:
        reason = describe(exc)
        assert "\n" not in reason and len(reason) <= 400, reason[:500]
        counts[exc.reason] += 1
        return None
    counts["decoded"] += 1
    return value


def fuzzed(kind: str, strategy, check) -> None:
    """``check(raw)`` on every input of ``strategy``; then both sides of the codec must have been reached."""
    counts = Counter()

    @FUZZ
    @given(strategy)
    def fuzz(raw):
        check(counts, raw)

    fuzz()
    print(f"fuzz {kind}: {sum(counts.values())} inputs, {dict(counts)}")
    assert counts["decoded"] and sum(counts.values()) - counts["decoded"], counts


def check_span(start: float, end: float) -> None:
    assert math.isfinite(start) and math.isfinite(end) and 0 <= start <= end


def test_window_records():
    def check(counts, raw):
        window = outcome(counts, kt.decode_window, raw)
        if window is not None:
            assert stream_id_problem(window.stream_id) is None and window.window_id
            assert window.frames and 0 <= window.activity <= 1
            check_span(window.start, window.end)

    for raw in (b"", VALID_WINDOW):
        check(Counter(), raw)
    fuzzed("windows", st.one_of(noise(VALID_WINDOW), absurd_window_pb().map(lambda m: m.SerializeToString())), check)


def test_absurd_window_sizes():
    """10,000 frames and a 20 MB frame decode (the worker refuses them by its limits, with a reason)."""
    many = media_pb2.FrameWindow(stream_id="cam", window_id="cam:0", start=0, end=1,
                                 frames=[media_pb2.Frame(jpeg=GOOD_JPEG)] * 10_000)
    assert len(kt.decode_window(many.SerializeToString()).frames) == 10_000
    huge = media_pb2.FrameWindow(stream_id="cam", window_id="cam:0", start=0, end=1,
                                 frames=[media_pb2.Frame(jpeg=b"\xff" * (20 << 20))])
    assert len(kt.decode_window(huge.SerializeToString()).frames[0].jpeg) == 20 << 20


def test_result_records():
    def check(counts, raw):
        result = outcome(counts, kt.decode_result, raw)
        if result is not None:
            assert stream_id_problem(result.stream_id) is None and result.window_id
            check_span(result.start, result.end)
            assert math.isfinite(result.activity) and all(math.isfinite(a.score) for a in result.actions)

    fuzzed("results", st.one_of(noise(VALID_RESULT), absurd_result_pb().map(lambda m: m.SerializeToString())), check)


def test_event_records():
    def check(counts, raw):
        event = outcome(counts, kt.decode_event, raw)
        if event is not None:
            assert stream_id_problem(event.stream_id) is None and isinstance(event.state, StreamState)
            assert math.isfinite(event.time_unix)

    fuzzed("events", noise(VALID_EVENT), check)
