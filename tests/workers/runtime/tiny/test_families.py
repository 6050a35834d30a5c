"""The tiny checkpoints shaped like each release (workers/runtime/tiny/families.py), and their names."""
from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from tests.support.model_fixtures import assert_builds_agree, safetensors_keys
from workers.runtime import make_tiny
from workers.runtime.tiny import like_names
from workers.runtime.tiny.families import LIKES

RELEASED = {"vila1.5-3b", "vila1.5-3b-s2", "llama-3-vila1.5-8b", "vila1.5-13b", "vila1.5-40b", "nvila-lite-2b",
            "nvila-lite-8b", "nvila-lite-15b", "nvila-8b", "nvila-15b", "nvila-8b-video"}
PREVIEW = {"vila1.5-3b-hf-preview", "llama-3-vila1.5-8b-hf-preview", "vila1.5-13b-hf-preview",
           "vila1.5-40b-hf-preview", "nvila-lite-2b-hf-preview", "nvila-lite-8b-hf-preview"}
FLAT = {"nvila-8b-hf", "nvila-15b-hf", "nvila-lite-2b-hf", "nvila-lite-15b-hf"}


def test_every_like_is_listed():
    assert set(LIKES) == RELEASED
    assert sorted(like_names()) == sorted(RELEASED | PREVIEW | FLAT)
    with pytest.raises(InvalidInput, match="nvila-lite-2b"):
        make_tiny("/nonexistent/never", like="nvila-9b")
    with pytest.raises(InvalidInput, match="nvila-8b-video-hf-preview"):  # that release has no -hf-preview repo
        make_tiny("/nonexistent/never", like="nvila-8b-video-hf-preview")


def test_released_files_fields_and_keys(likes):
    v15, v40, nv, hf = (likes.path(n) for n in ("vila1.5-3b", "vila1.5-40b", "nvila-8b", "vila1.5-3b-hf-preview"))
    top = json.loads((v15 / "config.json").read_text())
    assert (top["model_type"], top["architectures"], top["image_aspect_ratio"]) == (
        "llava_llama", ["LlavaLlamaModel"], "resize")
    assert {"llm_cfg", "vision_tower_cfg", "mm_projector_cfg", "s2_scales", "interpolate_mode", "vision_resolution",
            "resume_path", "num_video_frames"} <= set(top)
    assert "dynamic_s2" not in top and "video_encoder" not in top  # VILA1.5 configs predate these fields
    assert "vision_model.head.probe" in safetensors_keys(v15 / "vision_tower/model.safetensors")  # MAP head is stored
    assert {p.name for p in (v15 / "llm").iterdir()} == {
        "config.json", "generation_config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
        "special_tokens_map.json"}  # Llama-2's SentencePiece tokenizer, as released
    assert safetensors_keys(v15 / "mm_projector/model.safetensors") == {f"layers.{i}.{p}" for i in (1, 2, 4)
                                                               for p in ("weight", "bias")}
    intern = safetensors_keys(v40 / "vision_tower/model.safetensors")
    assert {"embeddings.class_embedding", "embeddings.patch_embedding.weight", "embeddings.position_embedding",
            "encoder.layers.1.attn.qkv.weight", "encoder.layers.1.attn.q_norm.weight", "encoder.layers.0.ls1",
            "encoder.layers.0.norm2.weight", "encoder.layers.0.mlp.fc2.bias"} <= intern
    assert "encoder.layers.0.attn.qkv.bias" not in intern  # qkv_bias: false
    top40 = json.loads((v40 / "config.json").read_text())
    assert (top40["mm_vision_select_layer"], top40["mm_vision_select_feature"]) == (-1, "patch")
    assert json.loads((v40 / "vision_tower/config.json").read_text())["model_type"] == "intern_vit_6b"
    top_nv = json.loads((nv / "config.json").read_text())
    assert (top_nv["dynamic_s2"], top_nv["s2_scales"], top_nv["s2_resize_output_to_scale_idx"]) == (
        True, "32,64,96", -1)
    assert top_nv["mm_hidden_size"] == 3 * top_nv["vision_tower_cfg"]["hidden_size"]
    assert top_nv["llm_cfg"]["architectures"] == ["Qwen2ForCausalLM"]
    assert "vision_model.head.probe" not in safetensors_keys(nv / "vision_tower/model.safetensors")
    top_hf = json.loads((hf / "config.json").read_text())
    assert (top_hf["model_type"], top_hf["version"], top_hf["chat_template"]) == ("vila", "2.0", "vicuna_v1")


def test_like_checkpoints_are_deterministic(tmp_path):
    assert_builds_agree(tmp_path, "vila1.5-3b", "vila1.5-40b")
