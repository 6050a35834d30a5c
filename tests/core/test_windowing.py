"""core/windowing.py: the shared defaults, the one rule for a window's time span, and what makes a window or a
result from outside unusable."""
from __future__ import annotations

import math

import pytest

from core.types import ActionScore, Frame, FrameWindow, WindowResult
from core.windowing import FRAMES_PER_WINDOW, WINDOW_SECONDS, result_problem, span_problem, window_problem


def test_the_defaults_are_a_window_the_default_model_sees_whole():
    assert WINDOW_SECONDS > 0 and FRAMES_PER_WINDOW >= 1


@pytest.mark.parametrize("start,end", [(0.0, 0.0), (0.0, 8.0), (3600.5, 3608.5)])
def test_possible_spans_have_no_problem(start, end):
    assert span_problem(start, end) is None


@pytest.mark.parametrize("start,end,problem", [
    (math.nan, 1.0, "start nan is not a finite number of seconds"),
    (0.0, math.nan, "end nan is not a finite number of seconds"),
    (-math.inf, 1.0, "start -inf is not a finite number of seconds"),
    (0.0, math.inf, "end inf is not a finite number of seconds"),
    (-0.5, 1.0, "start -0.5 is negative"),
    (277777777777777.0, 0.0, "end 0.0 is before start 277777777777777.0"),
])
def test_impossible_spans_are_named(start, end, problem):
    assert span_problem(start, end) == problem


def window(**fields) -> FrameWindow:
    base = dict(stream_id="cam", window_id="cam:0:abc", seq=0, start=0.0, end=2.0,
                frames=(Frame(b"jpeg", 0.5, 4, 4),), activity=0.5)
    return FrameWindow(**{**base, **fields})


def test_a_usable_window_and_result_have_no_problem():
    assert window_problem(window()) is None
    assert result_problem(WindowResult("cam", "cam:0:abc", 0, 0.0, 2.0, "a car", (ActionScore("x", 0.5),))) is None


@pytest.mark.parametrize("fields,problem", [
    (dict(stream_id="a b"), "stream id 'a b' must be 1-128 characters"),
    (dict(stream_id="x" * 10_000), "stream id 'xxxx"),
    (dict(window_id=""), "window id '' must be 1-256 printable characters"),
    (dict(window_id="w\n1"), "window id 'w\\n1' must be"),
    (dict(end=-1.0), "end -1.0 is before start 0.0"),
    (dict(activity=math.nan), "activity nan is not in [0, 1]"),
    (dict(activity=1.5), "activity 1.5 is not in [0, 1]"),
])
def test_impossible_windows_are_named(fields, problem):
    said = window_problem(window(**fields))
    assert said is not None and said.startswith(problem) and len(said) < 200, said


def test_a_direct_caller_may_leave_the_ids_empty():
    assert window_problem(window(stream_id="", window_id=""), ids_optional=True) is None
    assert window_problem(window(stream_id="a b"), ids_optional=True) is not None


def test_a_result_score_must_be_finite():
    result = WindowResult("cam", "cam:0:abc", 0, 0.0, 2.0, "a car", (ActionScore("walking", math.inf),))
    assert result_problem(result) == "score inf of 'walking' is not a finite number"
