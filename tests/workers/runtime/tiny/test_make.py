"""make_tiny (workers/runtime/tiny/make.py): deterministic bytes, the released layout, its options."""
from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from tests.support.model_fixtures import safetensors_keys, scene_frames
from workers.runtime import load_model, make_tiny

WEIGHTS = ["llm/model.safetensors", "vision_tower/model.safetensors", "mm_projector/model.safetensors"]


def test_same_seed_gives_identical_bytes(tmp_path, tiny_model_dir):
    again = make_tiny(tmp_path / "again", seed=0)
    other = make_tiny(tmp_path / "other", seed=1)
    for rel in WEIGHTS + ["config.json", "llm/tokenizer.json", "llm/config.json"]:
        assert (again / rel).read_bytes() == (tiny_model_dir / rel).read_bytes(), rel
    for rel in WEIGHTS:
        assert (other / rel).read_bytes() != (tiny_model_dir / rel).read_bytes(), rel


def test_layout_files_and_top_config(tiny_model_dir):
    expected = {
        "config.json", "llm/config.json", "llm/model.safetensors", "llm/generation_config.json",
        "llm/tokenizer.json", "llm/tokenizer_config.json", "llm/special_tokens_map.json",
        "vision_tower/config.json", "vision_tower/model.safetensors", "vision_tower/preprocessor_config.json",
        "mm_projector/config.json", "mm_projector/model.safetensors",
    }
    found = {str(p.relative_to(tiny_model_dir)) for p in tiny_model_dir.rglob("*") if p.is_file()}
    assert found == expected
    top = json.loads((tiny_model_dir / "config.json").read_text())
    assert top["model_type"] == "llava_llama" and top["architectures"] == ["LlavaLlamaModel"]
    assert isinstance(top["llm_cfg"], dict) and top["llm_cfg"]["architectures"] == ["Qwen2ForCausalLM"]
    assert top["vision_tower_cfg"]["model_type"] == "siglip_vision_model"
    assert top["mm_projector_cfg"] == {"architectures": ["MultimodalProjector"], "mm_projector_type": "mlp_downsample",
                                       "model_type": "v2l_projector"}
    assert top["mm_vision_select_layer"] == -2 and top["mm_vision_select_feature"] == "cls_patch"
    assert top["mm_hidden_size"] == top["vision_tower_cfg"]["hidden_size"]
    assert top["hidden_size"] == top["llm_cfg"]["hidden_size"]
    assert top["image_aspect_ratio"] == "resize" and top["mm_use_im_start_end"] is False
    for field in ("num_video_frames", "fps", "model_dtype", "chat_template"):
        assert field in top
    pre = json.loads((tiny_model_dir / "vision_tower/preprocessor_config.json").read_text())
    assert pre["resample"] == 3 and pre["image_mean"] == [0.5] * 3 and pre["image_std"] == [0.5] * 3
    assert abs(pre["rescale_factor"] - 1 / 255) < 1e-12 and pre["size"] == {"height": 64, "width": 64}
    assert json.loads((tiny_model_dir / "mm_projector/config.json").read_text())["model_type"] == "v2l_projector"


def test_weight_key_names_as_released(tiny_model_dir):
    vision = safetensors_keys(tiny_model_dir / "vision_tower/model.safetensors")
    assert all(k.startswith("vision_model.") for k in vision)
    for key in ("vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.position_embedding.weight",
                "vision_model.encoder.layers.1.self_attn.q_proj.weight", "vision_model.encoder.layers.0.mlp.fc2.bias",
                "vision_model.encoder.layers.0.layer_norm1.weight", "vision_model.post_layernorm.weight"):
        assert key in vision
    assert safetensors_keys(tiny_model_dir / "mm_projector/model.safetensors") == {
        f"layers.{i}.{p}" for i in (1, 2, 4) for p in ("weight", "bias")}
    llm = safetensors_keys(tiny_model_dir / "llm/model.safetensors")
    assert {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
            "model.layers.1.self_attn.k_proj.weight"} <= llm


def test_refuses_non_empty_directory_unless_overwrite(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(InvalidInput, match="not an empty directory"):
        make_tiny(out)
    make_tiny(out, overwrite=True)
    assert (out / "config.json").is_file() and not (out / "x").exists()
    with pytest.raises(InvalidInput, match="projector"):
        make_tiny(tmp_path / "p", projector="mlp_nope")


@pytest.mark.parametrize(("projector", "per_frame", "keys"), [
    ("linear", 64 + 1, {"layers.weight", "layers.bias"}),
    ("mlp2x_gelu", 64 + 1, {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}),
    ("mlp_downsample_3x3_fix", 9 + 1, {f"layers.{i}.{p}" for i in (1, 2, 4, 5, 7) for p in ("weight", "bias")}),
])
def test_other_projectors_load_and_caption(tmp_path, projector, per_frame, keys):
    path = make_tiny(tmp_path / projector, projector=projector)
    assert safetensors_keys(path / "mm_projector/model.safetensors") == keys
    model = load_model(path)
    assert model.info.projector == projector and model.info.tokens_per_frame == per_frame

    assert isinstance(model.caption([scene_frames(2)], max_new_tokens=4)[0], str)


def test_llama_variant_uses_vicuna(tmp_path):
    path = make_tiny(tmp_path / "llama", llm="llama")
    model = load_model(path)
    assert (model.info.family, model.info.template) == ("vila1.5", "vicuna_v1")
    # A Llama SigLIP checkpoint is VILA1.5-shaped: the legacy splice, where each frame is "<image>\n" in the
    # prompt (the chunk's BOS dropped), so 16 visual tokens + the "\n" token.
    assert model.info.tokens_per_frame == 16 + 1
    frames = [scene_frames(3, seed=s) for s in range(3)]
    assert model.caption(frames, max_new_tokens=8) == [model.caption([f], max_new_tokens=8)[0] for f in frames]


def test_vicuna_prompt_and_stop(tmp_path):
    model = load_model(make_tiny(tmp_path / "vila1.5-style", llm="llama"))
    text = model.template.render(model.tokenizer, "<vila/video>What moves?")
    assert text == ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                    "helpful, detailed, and polite answers to the user's questions. USER: <vila/video>What moves? "
                    "ASSISTANT:")
    assert model._stop_strings[0] == "</s>"
    assert model._stop_ids[0] == model.tokenizer.convert_tokens_to_ids("</s>")
    assert model._prompt_ids("hi")[0] == model.tokenizer.convert_tokens_to_ids("<s>")
