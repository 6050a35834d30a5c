"""Loader errors: each wrong layout raises ModelLayoutError naming the file or field."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.errors import InvalidInput, ModelLayoutError
from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model


@pytest.fixture()
def ckpt(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A private copy of the tiny checkpoint to damage."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "ckpt"))


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def expect_layout_error(path: Path, *needles: str) -> str:
    with pytest.raises(ModelLayoutError) as info:
        load_model(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return message


def test_missing_directory(tmp_path):
    expect_layout_error(tmp_path / "nope", "nope")


def test_missing_top_config(ckpt):
    (ckpt / "config.json").unlink()
    expect_layout_error(ckpt, str(ckpt / "config.json"), "missing")


def test_top_config_not_json(ckpt):
    (ckpt / "config.json").write_text("{not json")
    expect_layout_error(ckpt, "config.json", "not valid JSON")


def test_unknown_model_type(ckpt):
    edit_json(ckpt / "config.json", model_type="llava_mistral")
    expect_layout_error(ckpt, "config.json", "model_type", "llava_mistral")


def test_missing_component_field(ckpt):
    edit_json(ckpt / "config.json", vision_tower_cfg=...)
    expect_layout_error(ckpt, "config.json", "'vision_tower_cfg'")


@pytest.mark.parametrize("folder", ["llm", "vision_tower", "mm_projector"])
def test_missing_sub_folder(ckpt, folder):
    shutil.rmtree(ckpt / folder)
    expect_layout_error(ckpt, str(ckpt / folder), "missing")


@pytest.mark.parametrize("rel", ["llm/model.safetensors", "vision_tower/model.safetensors",
                                 "mm_projector/model.safetensors", "llm/config.json",
                                 "vision_tower/preprocessor_config.json", "llm/tokenizer_config.json",
                                 "llm/tokenizer.json", "mm_projector/config.json"])
def test_missing_file(ckpt, rel):
    (ckpt / rel).unlink()
    expect_layout_error(ckpt, str(ckpt / rel))


def test_unknown_projector_type(ckpt):
    edit_json(ckpt / "mm_projector/config.json", mm_projector_type="mlp_downsample_9x9")
    expect_layout_error(ckpt, "mm_projector/config.json", "mm_projector_type", "mlp_downsample_9x9")


def test_projector_weights_with_wrong_keys(ckpt):
    path = ckpt / "mm_projector/model.safetensors"
    state = load_file(path)
    state["layers.3.weight"] = state.pop("layers.4.weight")
    save_file(state, path)
    expect_layout_error(ckpt, "mm_projector/model.safetensors", "layers.4.weight", "layers.3.weight")


def test_projector_type_not_matching_weights(ckpt):
    edit_json(ckpt / "mm_projector/config.json", mm_projector_type="mlp2x_gelu")
    expect_layout_error(ckpt, "mm_projector/model.safetensors", "mlp2x_gelu")


def test_mm_hidden_size_mismatch(ckpt):
    edit_json(ckpt / "config.json", mm_hidden_size=128)
    expect_layout_error(ckpt, "mm_hidden_size")


def test_hidden_size_mismatch(ckpt):
    edit_json(ckpt / "config.json", hidden_size=96)
    expect_layout_error(ckpt, "hidden_size", "llm/config.json")


def test_llm_weights_missing_a_tensor(ckpt):
    path = ckpt / "llm/model.safetensors"
    state = load_file(path)
    del state["model.layers.1.mlp.down_proj.weight"]
    save_file(state, path)
    expect_layout_error(ckpt, "llm/model.safetensors", "model.layers.1.mlp.down_proj.weight")


def test_vision_weights_missing_a_tensor(ckpt):
    path = ckpt / "vision_tower/model.safetensors"
    state = load_file(path)
    del state["vision_model.encoder.layers.0.self_attn.q_proj.weight"]
    save_file(state, path)
    expect_layout_error(ckpt, "vision_tower/model.safetensors", "q_proj")


@pytest.mark.parametrize("folder", ["llm", "vision_tower"])
def test_unexpected_weight_key(ckpt, folder):
    # transformers would drop a stray tensor with a warning; a checkpoint of another layout must not load quietly.
    path = ckpt / folder / "model.safetensors"
    state = load_file(path)
    state["bogus.weight"] = torch.zeros(2, 2)
    save_file(state, path)
    expect_layout_error(ckpt, f"{folder}/model.safetensors", "unexpected", "bogus.weight")


UNSUPPORTED = [("mm_vision_select_feature", "cls"), ("image_aspect_ratio", "dynamic_s2x"), ("mm_use_im_start_end", True),
               ("dynamic_s2", True), ("s2_scales", "448,x"), ("video_encoder", '{"_target_": "Foo"}'),
               ("image_aspect_ratio", "dynamic_s2")]


@pytest.mark.parametrize(("field", "value"), UNSUPPORTED)
def test_unsupported_top_fields(ckpt, field, value):
    edit_json(ckpt / "config.json", **{field: value})
    expect_layout_error(ckpt, "config.json", field)


def test_unsupported_template_name(ckpt):
    edit_json(ckpt / "config.json", chat_template="mistral_instruct")
    expect_layout_error(ckpt, "chat_template", "mistral_instruct")


def test_directory_name_does_not_pick_the_family_or_template(tmp_path, tiny_model_dir, tiny_model):
    # The reference guesses the template from the path ("vila1.5-40b" -> hermes-2); the runtime reads the config.
    model = load_model(Path(shutil.copytree(tiny_model_dir, tmp_path / "VILA1.5-40b")))
    assert (model.info.family, model.info.template) == (tiny_model.info.family, "auto")


def test_no_family_for_the_combination(ckpt):
    edit_json(ckpt / "llm/config.json", architectures=["MistralForCausalLM"])
    expect_layout_error(ckpt, "no supported VILA family", "MistralForCausalLM")


def test_auto_template_needs_tokenizer_chat_template(ckpt):
    edit_json(ckpt / "llm/tokenizer_config.json", chat_template=...)
    expect_layout_error(ckpt, "llm/tokenizer_config.json", "chat_template")


def test_unknown_vision_tower(ckpt):
    edit_json(ckpt / "vision_tower/config.json", model_type="clip_vision_model")
    expect_layout_error(ckpt, "vision_tower/config.json", "model_type", "clip_vision_model")


def test_string_path_form(ckpt, tiny_model):
    (ckpt / "llm").rename(ckpt / "language_model")
    edit_json(ckpt / "config.json", llm_cfg="language_model", vision_tower_cfg=str(ckpt / "vision_tower"))
    model = load_model(ckpt)
    frames = [scene_frames(3, seed=4)]
    assert model.caption(frames, max_new_tokens=6) == tiny_model.caption(frames, max_new_tokens=6)




def test_bad_device_and_dtype(tiny_model_dir):
    with pytest.raises(InvalidInput, match="dtype"):
        load_model(tiny_model_dir, dtype="float8")
    with pytest.raises(InvalidInput, match="device"):
        load_model(tiny_model_dir, device="tpu:0")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="CUDA"):
            load_model(tiny_model_dir, device="cuda")


def test_explicit_dtype(tiny_model_dir):
    model = load_model(tiny_model_dir, dtype="bfloat16")
    assert model.info.dtype == "bfloat16"
    assert next(model.tower.parameters()).dtype == torch.bfloat16
    assert next(model.projector.parameters()).dtype == torch.bfloat16
