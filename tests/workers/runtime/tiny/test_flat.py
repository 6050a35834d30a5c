"""The tiny checkpoints in the flat NVILA ``-hf`` layout (workers/runtime/tiny/flat.py): files, fields, keys."""
from __future__ import annotations

import json

import pytest

from tests.support.model_fixtures import assert_builds_agree, safetensors_keys
from workers.runtime.tiny.flat import FLAT_LIKES


@pytest.mark.parametrize("name", ["nvila-8b-hf", "nvila-lite-2b-hf"])
def test_one_folder_one_weight_set(likes, name):
    path = likes.path(name)
    _, model_type, architecture = FLAT_LIKES[name]
    top = json.loads((path / "config.json").read_text())
    assert (top["model_type"], top["architectures"]) == (model_type, [architecture])
    assert {"text_config", "vision_config", "image_token_id", "video_token_id"} <= set(top)
    assert top["text_config"]["vocab_size"] > max(top["image_token_id"], top["video_token_id"])  # media tokens fit
    assert {"model.safetensors", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in path.iterdir()}
    assert not any(p.is_dir() for p in path.iterdir())
    keys = safetensors_keys(path / "model.safetensors")
    assert {k.split(".")[0] for k in keys} == {"llm", "vision_tower", "mm_projector"}
    assert "vision_tower.vision_model.embeddings.patch_embedding.weight" in keys
    assert "mm_projector.layers.1.weight" in keys and "llm.lm_head.weight" in keys


def test_flat_checkpoints_are_deterministic(tmp_path):
    assert_builds_agree(tmp_path, "nvila-8b-hf")
