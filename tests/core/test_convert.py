"""Domain types round-trip through their vila.v1 messages unchanged."""
import pytest

from core import convert
from core.ids import window_id
from core.types import (
    ActionScore, Frame, FrameWindow, Segment, StreamEvent, StreamState, Summary, TimelineEntry, WindowResult,
)


def test_window_round_trip_through_bytes():
    w = FrameWindow(
        stream_id="cam-1", window_id=window_id("cam-1", 8.0), seq=1, start=8.0, end=16.0,
        frames=(Frame(b"\xff\xd8jpeg", 8.5, 320, 240), Frame(b"\xff\xd8two", 9.25, 320, 240)),
        source="rtsp://h/cam", activity=0.25, origin_unix=1700000000.5, partial=True,
    )
    wire = convert.window_to_pb(w).SerializeToString()
    from vila.v1 import media_pb2

    assert convert.window_from_pb(media_pb2.FrameWindow.FromString(wire)) == w


@pytest.mark.parametrize(
    "value, to_pb, from_pb",
    [
        (WindowResult("s", "s:0:x", 0, 0.0, 2.0, "a red circle moves left",
                      (ActionScore("moving left", 0.75),), 0.5, "edge", "m", 12.5, "", b"jpg"),
         convert.result_to_pb, convert.result_from_pb),
        (TimelineEntry("s", "w", 0.0, 2.0, "c", (ActionScore("a", 0.5),), 0.1, "bad"),
         convert.entry_to_pb, convert.entry_from_pb),
        (Segment("s", 0.0, 4.0, "c", ("w1", "w2"), (ActionScore("a", 0.5),)),
         convert.segment_to_pb, convert.segment_from_pb),
        (Summary("s", "text", 0.0, 4.0, "model", 2), convert.summary_to_pb, convert.summary_from_pb),
        (StreamEvent("s", StreamState.STALLED, 123.5, "read timeout", 2, {"k": "v"}),
         convert.event_to_pb, convert.event_from_pb),
    ],
)
def test_round_trip(value, to_pb, from_pb):
    assert from_pb(to_pb(value)) == value


def test_every_state_maps():
    for state in StreamState:
        e = StreamEvent("s", state, 1.0)
        assert convert.event_from_pb(convert.event_to_pb(e)).state is state


def test_window_id_is_deterministic_and_distinct():
    assert window_id("cam", 8.0) == window_id("cam", 8.0000001)
    assert window_id("cam", 8.0) != window_id("cam", 8.001)
    assert window_id("cam", 8.0) != window_id("cam2", 8.0)
