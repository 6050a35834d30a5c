"""Aggregation: timeline, segment merging and summaries (pure code)."""
import pytest

from services.aggregation import StreamAggregator, merge_segments, same_meaning, summarize
from services.aggregation.timeline import entry_from_result, format_clock
from core.types import ActionScore, WindowResult


def result(i, caption, *, start=None, length=2.0, error="", actions=(), stream="cam"):
    start = i * length if start is None else start
    return WindowResult(stream, f"{stream}:{i}", i, start, start + length, caption,
                        tuple(actions), 0.1 * i, "edge", "tiny", 1.0, error)


def test_same_meaning_ignores_case_and_punctuation_not_words():
    assert same_meaning("A red circle moves left.", "a red circle moves  LEFT")
    assert not same_meaning("a red circle moves left", "a red circle moves right")
    assert not same_meaning("", "")
    assert same_meaning("the red circle moves left", "a red circle moves left", threshold=0.6)


def test_consecutive_same_captions_merge_into_one_segment():
    agg = StreamAggregator("cam")
    for i, c in enumerate(["a red circle moves left", "A red circle moves left.", "nothing moves",
                           "a red circle moves left"]):
        agg.add(result(i, c))
    segs = agg.segments()
    assert [(s.start, s.end, s.caption) for s in segs] == [
        (0.0, 4.0, "a red circle moves left"), (4.0, 6.0, "nothing moves"), (6.0, 8.0, "a red circle moves left"),
    ]
    assert segs[0].window_ids == ("cam:0", "cam:1")


def test_overlapping_windows_merge_and_gaps_split():
    entries = [entry_from_result(r) for r in (
        result(0, "x", start=0.0, length=4.0), result(1, "x", start=2.0, length=4.0),
        result(2, "x", start=20.0, length=4.0),
    )]
    segs = merge_segments(entries)
    assert [(s.start, s.end) for s in segs] == [(0.0, 6.0), (20.0, 24.0)]


def test_failed_windows_stay_in_timeline_but_not_in_segments():
    agg = StreamAggregator("cam")
    agg.add(result(0, "x"))
    agg.add(result(1, "", error="invalid-request: frame 0 is not a decodable JPEG"))
    agg.add(result(2, "x"))
    assert len(agg.timeline()) == 3
    assert [s.window_ids for s in agg.segments()] == [("cam:0",), ("cam:2",)]
    assert "1 window(s) could not be analysed" in agg.summary().text


def test_redelivered_result_is_one_entry():
    agg = StreamAggregator("cam")
    assert agg.add(result(0, "first answer"))
    assert not agg.add(result(0, "second answer"))
    assert [e.caption for e in agg.timeline()] == ["second answer"]


def test_aggregator_rejects_other_streams():
    with pytest.raises(ValueError, match="other"):
        StreamAggregator("cam").add(result(0, "x", stream="other"))


def test_segment_actions_are_mean_scores():
    agg = StreamAggregator("cam")
    agg.add(result(0, "x", actions=[ActionScore("left", 0.8), ActionScore("still", 0.2)]))
    agg.add(result(1, "x", actions=[ActionScore("left", 0.4), ActionScore("still", 0.6)]))
    (seg,) = agg.segments()
    assert seg.actions[0].label == "left" and seg.actions[0].score == pytest.approx(0.6)
    assert seg.actions[1].label == "still" and seg.actions[1].score == pytest.approx(0.4)


def test_extractive_summary_names_segments_in_time_order():
    agg = StreamAggregator("cam")
    for i, c in enumerate(["a car drives up", "a car drives up", "the lane is empty", "a red car drives down"]):
        agg.add(result(i, c))
    s = agg.summary()
    assert s.method == "extractive" and s.windows == 4 and (s.start, s.end) == (0.0, 8.0)
    assert s.text.index("a car drives up") < s.text.index("the lane is empty") < s.text.index("a red car")


def test_model_summary_uses_generation_and_falls_back_when_empty():
    agg = StreamAggregator("cam")
    agg.add(result(0, "a car drives up"))
    prompts = []

    def generate(ps):
        prompts.extend(ps)
        return ["  A car drove up the lane.  "]

    s = summarize("cam", agg.timeline(), agg.segments(), generate=generate)
    assert s.method == "model" and s.text == "A car drove up the lane."
    assert "a car drives up" in prompts[0]
    s = summarize("cam", agg.timeline(), agg.segments(), generate=lambda ps: [""])
    assert s.method == "extractive"


def test_format_clock():
    assert format_clock(75.25) == "01:15.2"
    assert format_clock(3725.0) == "1:02:05.0"
