"""Sampling instants: N uniform per window, an fps grid, and both (N caps the grid)."""
import pytest

from ingest.sampler import grid_targets, pick_nearest, spread_pick, uniform_targets, window_targets


def test_uniform_targets_are_slot_centres():
    assert uniform_targets(0.0, 8.0, 4) == [1.0, 3.0, 5.0, 7.0]
    assert uniform_targets(8.0, 10.0, 2) == [8.5, 9.5]


def test_grid_targets_follow_the_global_grid():
    assert grid_targets(0.0, 2.0, 2.0) == [0.0, 0.5, 1.0, 1.5]
    # a window starting off the grid takes the next grid points, end excluded
    assert grid_targets(0.3, 1.5, 2.0) == [0.5, 1.0]
    # float noise at the boundaries (0.1 * 3 != 0.3) does not add or drop a point
    assert grid_targets(0.1 * 3, 0.1 * 6, 10.0) == pytest.approx([0.3, 0.4, 0.5])


def test_fps_and_n_together_cap_the_grid_uniformly():
    targets = window_targets(0.0, 8.0, frames_per_window=4, fps=2.0)  # 16 grid points -> 4
    assert len(targets) == 4
    assert set(targets) <= set(grid_targets(0.0, 8.0, 2.0))
    assert targets == [1.0, 3.0, 5.0, 7.0]
    # fewer grid points than N: all of them
    assert window_targets(0.0, 8.0, frames_per_window=32, fps=1.0) == [float(i) for i in range(8)]


def test_fps_only_and_n_only():
    assert window_targets(0.0, 4.0, frames_per_window=None, fps=1.0) == [0.0, 1.0, 2.0, 3.0]
    assert window_targets(0.0, 4.0, frames_per_window=2, fps=None) == [1.0, 3.0]
    assert window_targets(4.0, 4.0, frames_per_window=2, fps=None) == []


def test_spread_pick():
    assert spread_pick(list(range(10)), 5) == [1, 3, 5, 7, 9]
    assert spread_pick([1, 2], 5) == [1, 2]


def test_pick_nearest_prefers_the_closer_frame_inside_the_window():
    before, after = (0.9, "a"), (1.2, "b")
    assert pick_nearest(1.0, before, after, 0.0, 2.0) == before
    assert pick_nearest(1.1, before, after, 0.0, 2.0) == after
    # the closer frame lies outside the window: the other one serves
    assert pick_nearest(1.0, before, after, 0.95, 2.0) == after
    assert pick_nearest(1.1, before, after, 0.0, 1.1) == before
    assert pick_nearest(1.0, None, None, 0.0, 2.0) is None
    # ties go to the earlier frame
    assert pick_nearest(1.0, (0.5, "a"), (1.5, "b"), 0.0, 2.0)[1] == "a"
