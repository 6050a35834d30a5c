"""core/windowing.py: the shared defaults and the one rule for a window's time span."""
from __future__ import annotations

import math

import pytest

from core.windowing import FRAMES_PER_WINDOW, WINDOW_SECONDS, span_problem


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
