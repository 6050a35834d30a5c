"""A short training run shared by the training tests: a few steps of each stage on a handful of clips."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workers.training.recipe import get_recipe
from workers.training.trainer import Trainer

CLIPS, STEPS = 12, 8


@pytest.fixture(scope="session")
def short_recipe():
    return get_recipe("tiny-synthetic").scaled(clips=CLIPS, steps=STEPS)


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory, short_recipe) -> Path:
    """OUT of a complete short run of the tiny-synthetic recipe."""
    out = tmp_path_factory.mktemp("train") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        final = Trainer(short_recipe, out, progress=False, log=lambda _: None, workers=1).run()
    finally:
        torch.set_num_threads(threads)
    assert final == out / "stage3-sft"
    return out
