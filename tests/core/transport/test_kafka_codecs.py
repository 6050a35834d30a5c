"""The Kafka record codecs and headers (pure: no broker)."""
from __future__ import annotations

import pytest

from core import topics
from dataclasses import replace

from core.errors import InvalidRecord, UndecodableRecord
from core.types import ActionScore, Frame, FrameWindow, StreamEvent, StreamState, WindowResult
from core.transport import kafka as kt

WINDOW = FrameWindow(stream_id="cam1", window_id="cam1:0:abc", seq=3, start=0.0, end=2.0,
                     frames=(Frame(jpeg=b"\xff\xd8jpeg", pts=0.5, width=4, height=3),), source="cam1.mp4")


def test_window_round_trip():
    assert kt.decode_window(kt.encode_window(WINDOW)) == WINDOW


def test_result_and_event_round_trip():
    result = WindowResult(stream_id="cam1", window_id="cam1:0:abc", seq=3, start=0.0, end=2.0, caption="hi",
                          actions=(ActionScore("a person walking", 0.5),), tier="edge")
    event = StreamEvent(stream_id="cam1", state=StreamState.LIVE, time_unix=1.0, extra={"kind": "rtsp"})
    assert kt.decode_result(kt.encode_result(result)) == result
    assert kt.decode_event(kt.encode_event(event)) == event


@pytest.mark.parametrize("raw", [b"", None, b"\xff\xfe garbage \x00\x01", b"\x0a\x03cam"])
def test_garbage_is_an_undecodable_record(raw):
    with pytest.raises(UndecodableRecord):
        kt.decode_window(raw)


def test_window_without_frames_is_undecodable():
    empty = FrameWindow(stream_id="cam1", window_id="w", seq=0, start=0, end=1, frames=())
    with pytest.raises(UndecodableRecord, match="no frames"):
        kt.decode_window(kt.encode_window(empty))


IMPOSSIBLE_SPANS = [((float("nan"), 2.0), "start nan is not a finite number"),
                    ((0.0, float("inf")), "end inf is not a finite number"),
                    ((-1.0, 2.0), "start -1.0 is negative"),
                    ((5.0, 1.0), "end 1.0 is before start 5.0")]


@pytest.mark.parametrize("span,problem", IMPOSSIBLE_SPANS)
def test_a_window_or_result_with_an_impossible_time_span_is_an_invalid_record(span, problem):
    start, end = span
    with pytest.raises(InvalidRecord, match=f"window cam1:0:abc: {problem}"):
        kt.decode_window(kt.encode_window(replace(WINDOW, start=start, end=end)))
    result = WindowResult(stream_id="cam1", window_id="cam1:0:abc", seq=3, start=start, end=end, caption="x")
    with pytest.raises(InvalidRecord, match=f"result of window cam1:0:abc: {problem}"):
        kt.decode_result(kt.encode_result(result))
    assert InvalidRecord.reason == "invalid-record" and issubclass(InvalidRecord, UndecodableRecord)  # -> DLQ


def test_a_result_is_not_a_window():
    result = WindowResult(stream_id="cam1", window_id="w", seq=0, start=0, end=1, caption="x")
    with pytest.raises(UndecodableRecord):
        kt.decode_window(kt.encode_result(result))


def test_dlq_headers_follow_the_contract():
    headers = kt.dlq_headers(reason="bad\nthing  here", stage="decode", source_topic=topics.WINDOWS,
                             partition=2, offset=17)
    assert kt.header(headers, topics.DLQ_REASON) == "bad thing here"
    assert kt.header(headers, topics.DLQ_STAGE) == "decode"
    assert kt.header(headers, topics.DLQ_SOURCE_TOPIC) == "vila.windows.v1"
    assert kt.header(headers, topics.DLQ_PARTITION) == "2"
    assert kt.header(headers, topics.DLQ_OFFSET) == "17"
    assert kt.header(headers, "missing") is None
    assert kt.make_headers(vila_stage="x") == [("vila-stage", b"x")]
