"""Frame sampling per family and NVILA temporal pooling."""
from __future__ import annotations

import pytest
import torch

from workers.runtime.encoding import temporal_pool
from workers.runtime.frames import fps_indices, linspace_int, pool_compatible, round_linspace, sample


def test_legacy_truncates_nvila_rounds():
    assert linspace_int(10, 6) == [0, 1, 3, 5, 7, 9]
    assert round_linspace(10, 6) == [0, 2, 4, 5, 7, 9]
    assert linspace_int(100, 8) == [0, 14, 28, 42, 56, 70, 84, 99]
    assert round_linspace(100, 8) == [0, 14, 28, 42, 57, 71, 85, 99]
    assert sample(list("abc"), 3, "linspace-int") == list("abc")
    assert sample(list("ab"), 4, "round-linspace") == list("aabb")  # fewer frames than asked: repeats
    with pytest.raises(ValueError):
        sample([], 2, "round-linspace")


def test_fps_timestamps():
    assert fps_indices(count=300, n=4, fps=2, video_fps=30) == [0, 15, 30, 45]
    assert fps_indices(count=20, n=8, fps=1, video_fps=10) == [0, 10]


def test_pool_compatible():
    assert [pool_compatible(n, 8) for n in (3, 8, 12, 16, 17)] == [8, 8, 8, 16, 16]


def test_temporal_pool_means_consecutive_frames_and_blocks():
    frames = torch.arange(4, dtype=torch.float32)[:, None, None].expand(4, 4, 2)  # frame t is all t
    pooled = temporal_pool(frames, (2, 1, 1))
    assert pooled.shape == (2, 4, 2) and pooled[:, 0, 0].tolist() == [0.5, 2.5]
    grid = torch.arange(16, dtype=torch.float32).reshape(1, 16, 1)  # one 4x4 frame
    spatial = temporal_pool(grid, (1, 2, 2))
    assert spatial[0, :, 0].tolist() == [2.5, 4.5, 10.5, 12.5]
    with pytest.raises(ValueError):
        temporal_pool(frames[:3], (2, 1, 1))
