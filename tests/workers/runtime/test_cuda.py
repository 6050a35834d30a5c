"""The tiny checkpoint on CUDA (skipped where no GPU is present)."""
from __future__ import annotations

import math

import pytest
import torch

from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model
from workers.runtime.default import SHIPPED_MODEL
from workers.training.evaluate import parse_caption, suite_jobs
from workers.training.scenes.frames import window_images
from workers.training.scenes import caption, plan_scene

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_default_dtype_on_cuda_and_operations(tiny_model_dir):
    model = load_model(tiny_model_dir, device="cuda")
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert model.info.dtype == expected and model.info.device.startswith("cuda")
    clips = [scene_frames(4, seed=s) for s in range(4)]
    captions = model.caption(clips, max_new_tokens=12)
    assert all(isinstance(c, str) for c in captions)
    assert captions == model.caption(clips, max_new_tokens=12)  # deterministic
    for row in model.score_labels(clips, ["a red car", "a person walking", "nothing moving"]):
        assert math.isclose(sum(s.score for s in row), 1.0, abs_tol=1e-4)
    assert isinstance(model.generate_text(["Say hello."], max_new_tokens=8)[0], str)


def test_float32_on_cuda_matches_cpu(tiny_model_dir, tiny_model):
    model = load_model(tiny_model_dir, device="cuda", dtype="float32")
    clips = [scene_frames(4 + s % 3, seed=s) for s in range(8)]
    batched = model.caption(clips, max_new_tokens=16)
    assert batched == [model.caption([c], max_new_tokens=16)[0] for c in clips]
    assert batched == tiny_model.caption(clips, max_new_tokens=16)



@pytest.mark.skipif(not (SHIPPED_MODEL / "config.json").is_file(), reason="no trained checkpoint shipped")
def test_shipped_model_on_cuda_says_what_it_says_on_cpu():
    # The cloud tier serves the embedded model on a GPU: float32 there must caption the suite's clips as the CPU
    # does, and bfloat16 (the cloud tier's dtype) must still be right about the clips of one object.
    plans = [plan_scene(job.seed, **job.options) for job in suite_jobs(40)]
    windows = [window_images(plan, 4) for plan in plans]
    cpu = load_model(SHIPPED_MODEL, device="cpu").caption(windows, max_new_tokens=32)
    assert load_model(SHIPPED_MODEL, device="cuda", dtype="float32").caption(windows, max_new_tokens=32) == cpu
    half = load_model(SHIPPED_MODEL, device="cuda", dtype="bfloat16").caption(windows, max_new_tokens=32)
    singles = [i for i, plan in enumerate(plans) if len(plan.objects) == 1]
    right = [parse_caption(half[i]) == parse_caption(caption(plans[i])) for i in singles]
    assert sum(right) >= 0.9 * len(singles), [half[i] for i in singles]
