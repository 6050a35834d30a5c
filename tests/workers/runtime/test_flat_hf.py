"""Reading the flat NVILA ``-hf`` layout (workers/runtime/flat_hf.py): the same model as the released layout."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from core.errors import ModelLayoutError
from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model
from workers.runtime.inspect import describe
from workers.runtime.prompting import Video


@pytest.mark.parametrize(("name", "base"), [("nvila-8b-hf", "nvila-8b"), ("nvila-lite-2b-hf", "nvila-lite-2b")])
def test_flat_hf_layout_gives_the_same_answers_as_the_released_layout(likes, name, base):
    flat, original = likes.model(name), likes.model(base)
    assert (flat.info.family, flat.info.layout) == (original.info.family, "nvila-hf")
    assert (flat.info.tokens_per_image, flat.info.tokens_per_frame) == (
        original.info.tokens_per_image, original.info.tokens_per_frame)
    frames = scene_frames(4, seed=2)
    prompts = [[frames[0], "What?"], [frames[0], frames[1], "Compare."], [Video(frames), "What happens?"]]
    assert flat.generate(prompts, max_new_tokens=6) == original.generate(prompts, max_new_tokens=6)
    info = describe(likes.path(name))
    assert info["parameters"]["mm_projector"] == sum(p.numel() for p in flat.projector.parameters())


def test_flat_hf_errors_name_the_field_or_key(likes, tmp_path):
    path = Path(shutil.copytree(likes.path("nvila-lite-2b-hf"), tmp_path / "flat"))
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "image_token_id": 0}))
    with pytest.raises(ModelLayoutError, match="image_token_id"):
        load_model(path)
    (path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "vision_config"}))
    with pytest.raises(ModelLayoutError, match="vision_config"):
        load_model(path)
    (path / "config.json").write_text(json.dumps(config))
    state = load_file(path / "model.safetensors")
    state["extra.weight"] = state.pop("mm_projector.layers.7.weight")
    save_file(state, path / "model.safetensors")
    with pytest.raises(ModelLayoutError, match="extra.weight"):
        load_model(path)
