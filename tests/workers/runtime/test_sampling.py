"""Greedy by default; seeded sampling on request, reproducible alone or in a batch."""
from __future__ import annotations

import pytest
import torch

from core.errors import InvalidRequest
from tests.support.model_fixtures import scene_frames
from workers.runtime.sampling import Chooser, Sampling


def test_chooser_greedy_and_top_p():
    logits = torch.tensor([[0.0, 5.0, 4.9, -1.0]])
    assert Chooser(None, 1, logits.device)(logits).tolist() == [1]
    tight = Chooser(Sampling(temperature=1.0, top_p=0.01, seed=3), 1, logits.device)
    assert {tight(logits).item() for _ in range(20)} == {1}  # only the top token survives top_p
    wide = Chooser(Sampling(temperature=5.0, top_p=1.0, seed=3), 1, logits.device)
    assert len({wide(logits).item() for _ in range(50)}) > 1


def test_bad_sampling_values():
    with pytest.raises(InvalidRequest):
        Sampling(temperature=0)
    with pytest.raises(InvalidRequest):
        Sampling(top_p=1.5)


def test_sampling_is_seeded_and_batch_independent(tiny_model):
    clips = [scene_frames(3, seed=s) for s in range(4)]
    hot = Sampling(temperature=1.5, top_p=0.95, seed=7)
    greedy = tiny_model.caption(clips, max_new_tokens=12)
    sampled = tiny_model.caption(clips, max_new_tokens=12, sampling=hot)
    assert sampled == tiny_model.caption(clips, max_new_tokens=12, sampling=hot)
    assert sampled != greedy
    assert sampled == [tiny_model.caption([c], max_new_tokens=12, sampling=hot)[0] for c in clips]
    other = tiny_model.caption(clips, max_new_tokens=12, sampling=Sampling(temperature=1.5, top_p=0.95, seed=8))
    assert other != sampled
    assert tiny_model.generate_text(["Say hello."], max_new_tokens=8) == tiny_model.generate_text(
        ["Say hello."], max_new_tokens=8)
