"""core/ids.py: deterministic window ids, and the rules every edge checks stream and window ids against."""
from __future__ import annotations

import pytest

from core.errors import quoted
from core.ids import stream_id_problem, window_id, window_id_problem


def test_window_ids_are_deterministic_to_the_millisecond():
    assert window_id("cam", 1.0) == window_id("cam", 1.0000001) != window_id("cam", 1.001)
    assert window_id_problem(window_id("a" * 128, 1e9)) is None


@pytest.mark.parametrize("stream_id", ["cam", "cam-1", "door.front", "site:7_b", "A" * 128, "0"])
def test_stream_ids_by_the_rule(stream_id):
    assert stream_id_problem(stream_id) is None


@pytest.mark.parametrize("stream_id", ["", " ", "-cam", "a b", "cam/1", "cam\n", "é", "A" * 129, None, 7])
def test_other_stream_ids_are_named(stream_id):
    problem = stream_id_problem(stream_id)
    assert problem is not None and problem.startswith(f"stream id {quoted(stream_id)} must be 1-128 characters")


def test_a_huge_id_is_quoted_short():
    assert len(stream_id_problem("x" * 100_000)) < 200
    assert len(window_id_problem("x" * 100_000)) < 200
