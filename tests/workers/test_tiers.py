"""Tier profiles."""
from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import InvalidInput
from workers.tiers import TIERS, TierProfile, get_tier


def test_edge_and_cloud():
    edge = get_tier("edge")
    assert (edge.frames_per_window, edge.max_new_tokens, edge.device, edge.dtype) == (4, 32, "cpu", "float32")
    cloud_gpu = get_tier("cloud", cuda_available=True)
    assert (cloud_gpu.frames_per_window, cloud_gpu.max_new_tokens) == (8, 64)
    assert (cloud_gpu.device, cloud_gpu.dtype) == ("cuda", "bfloat16")
    cloud_cpu = get_tier("cloud", cuda_available=False)
    assert (cloud_cpu.device, cloud_cpu.dtype) == ("cpu", "float32")
    assert edge.frames_per_window < cloud_cpu.frames_per_window


def test_unknown_tier_lists_names():
    with pytest.raises(InvalidInput) as info:
        get_tier("mobile")
    assert "mobile" in str(info.value) and all(name in str(info.value) for name in TIERS)


def test_profile_is_validated_and_frozen():
    with pytest.raises(InvalidInput):
        TierProfile("x", frames_per_window=0, max_new_tokens=1, dtype="float32", device="cpu",
                    max_batch_size=1, max_wait_ms=0)
    with pytest.raises(AttributeError):
        get_tier("edge").frames_per_window = 2  # type: ignore[misc]


def test_a_tier_gives_no_more_frames_than_the_checkpoint_was_trained_on():
    cloud = get_tier("cloud", cuda_available=False)
    assert cloud.fitted(4).frames_per_window == 4  # the embedded model's num_video_frames
    assert cloud.fitted(8) == cloud and cloud.fitted(32) == cloud  # a ceiling, never raised
    chosen = replace(cloud, frames_per_window=16, frames_set=True)  # the operator's count is kept
    assert chosen.fitted(4) == chosen



def test_every_tier_name_has_a_profile_in_the_registry_order():
    from core.tiers import TIER_NAMES, escalation_target

    assert tuple(TIERS) == TIER_NAMES
    assert escalation_target("edge") == "cloud" and escalation_target("cloud") is None
