"""Every released family, as a tiny checkpoint in its released layout: detection, loading, image/multi-image/video."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from core.errors import InvalidInput
from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model, make_tiny
from workers.runtime.prompting import IMAGE_TOKEN_INDEX, Video
from workers.runtime.tiny_families import like_names

# like name -> (family, template, generation, tokens per image, tokens per video frame) at the tiny sizes:
# 7x7 SigLIP grid -> 2x2 merge pads to 8 -> 16; 8x8 -> 3x3 pads to 9 -> 9 (+ "\n"); dynamic S2 4x4 blocks -> 4 * 3 * 3.
EXPECTED = {
    "vila1.5-3b": ("vila1.5", "vicuna_v1", "legacy", 16, 18),  # Llama-2 SentencePiece: "\n" is [▁, <0x0A>]
    "vila1.5-3b-s2": ("vila1.5-s2", "vicuna_v1", "legacy", 16, 18),
    "llama-3-vila1.5-8b": ("vila1.5", "llama_3", "legacy", 16, 17),
    "vila1.5-13b": ("vila1.5", "vicuna_v1", "legacy", 16, 18),
    "vila1.5-40b": ("vila1.5-40b", "hermes-2", "legacy", 16, 17),
    "nvila-lite-2b": ("nvila-lite", "auto", "nvila", 9, 10),
    "nvila-lite-8b": ("nvila-lite", "auto", "nvila", 9, 10),
    "nvila-lite-15b": ("nvila-lite", "auto", "nvila", 9, 10),
    "nvila-8b": ("nvila", "auto", "nvila", 36, 5),
    "nvila-15b": ("nvila", "auto", "nvila", 36, 5),
    "nvila-8b-video": ("nvila-video", "auto", "nvila", 16, 3),  # (16 + 1) / 8 frames pooled, rounded up
}
HF_PREVIEW = [n for n in like_names() if n.endswith("-hf-preview")]
FLAT = [n for n in like_names() if n.endswith("-hf")]
_BUILT: dict[str, Path] = {}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = tmp_path_factory.mktemp("likes")

    def get(name: str):
        if name not in _BUILT:
            _BUILT[name] = make_tiny(root / name, like=name)
        return load_model(_BUILT[name])

    return get


def test_every_like_is_listed():
    assert set(EXPECTED) | set(HF_PREVIEW) | set(FLAT) == set(like_names())
    assert set(FLAT) == {"nvila-8b-hf", "nvila-15b-hf", "nvila-lite-2b-hf", "nvila-lite-15b-hf"}
    assert {"vila1.5-3b-hf-preview", "nvila-lite-2b-hf-preview", "vila1.5-40b-hf-preview"} <= set(HF_PREVIEW)
    with pytest.raises(InvalidInput, match="nvila-lite-2b"):
        make_tiny("/nonexistent/never", like="nvila-9b")


@pytest.mark.parametrize("name", sorted(EXPECTED) + HF_PREVIEW)
def test_family_loads_and_runs_image_multi_image_and_video(build, name):
    model = build(name)
    family, template, generation, per_image, per_frame = EXPECTED[name.removesuffix("-hf-preview")]
    info = model.info
    assert (info.family, info.template, model.settings.generation) == (family, template, generation)
    assert (info.tokens_per_image, info.tokens_per_frame) == (per_image, per_frame)
    assert info.layout == ("vila-hf-preview" if name.endswith("-hf-preview") else "llava_llama")
    a, b = scene_frames(8, seed=1), scene_frames(8, seed=4)
    prompts = [[a[0], "What is this?"], [a[0], b[3], "Compare them."], [Video(a), "What happens?"],
               [b[3], "What is this?"]]
    answers = model.generate(prompts, max_new_tokens=6)
    assert len(answers) == 4 and all(isinstance(x, str) and x for x in answers)
    assert answers == [model.generate([p], max_new_tokens=6)[0] for p in prompts]  # batch == one by one
    assert model.caption([a[:4]], max_new_tokens=4) == model.generate([[Video(a[:4]), "Describe what happens in "
                                                                        "this video in one sentence."]],
                                                                      max_new_tokens=4)


def test_images_change_the_answer(build):
    for name in ("vila1.5-3b", "nvila-lite-2b", "nvila-8b"):
        model = build(name)
        outputs = {model.generate([[scene_frames(1, seed=s, size=(120, 60))[0], "What?"]], max_new_tokens=8)[0]
                   for s in range(6)}
        assert len(outputs) > 1, name


def test_legacy_splice_uses_minus_200_and_no_newline_embedding(build):
    model = build("vila1.5-3b")
    frames = scene_frames(3)
    (segment,) = model._segments([[Video(frames), "What?"]])
    assert segment.ids.count(IMAGE_TOKEN_INDEX) == 3 and model.media.video_id not in segment.ids
    assert [b.shape[0] for b in segment.blocks] == [16, 16, 16]  # visual tokens only: "\n" is prompt text
    bos = model.tokenizer.bos_token_id
    assert segment.ids[0] == bos and segment.ids.count(bos) == 1  # later chunks lose their BOS
    newline = model.tokenizer("\n", add_special_tokens=False).input_ids
    first = segment.ids.index(IMAGE_TOKEN_INDEX)
    assert segment.ids[first + 1:first + 1 + len(newline)] == newline
    assert model.projector.layers[0].order == "column"  # VILA1.5-era token order


def test_nvila_splice_adds_newline_embedding_per_image_and_tile(build):
    lite = build("nvila-lite-2b")
    wide = scene_frames(1, size=(200, 64))[0]  # aspect 3.1 -> 3x1 grid + thumbnail
    (single,) = lite._segments([[wide, "What?"]])
    assert single.ids.count(lite.media.image_id) == 4 and [b.shape[0] for b in single.blocks] == [10] * 4
    (multi,) = lite._segments([[wide, wide, "What?"]])  # several images: no tiling
    assert [b.shape[0] for b in multi.blocks] == [10, 10]
    assert lite.projector.layers[0].order == "row"
    s2 = build("nvila-8b")
    (one,) = s2._segments([[wide, "What?"]])
    assert one.ids.count(s2.media.image_id) == 1 and one.blocks[0].shape[0] == 4 * 12 + 1  # 12x1 grid (6:1 closest)
    (video,) = s2._segments([[Video(scene_frames(3)), "What?"]])
    assert video.ids.count(s2.media.video_id) == 1 and video.blocks[0].shape[0] == 3 * (4 + 1)


def test_temporal_pooling_of_the_video_family(build):
    model = build("nvila-8b-video")
    (seg,) = model._segments([[Video(scene_frames(16)), "What?"]])
    assert seg.blocks[0].shape[0] == 2 * (16 + 1)  # 16 frames pooled by 8 -> 2 frames, each + "\n"
    (few,) = model._segments([[Video(scene_frames(5)), "What?"]])
    assert few.blocks[0].shape[0] == 16 + 1  # resampled to one pool of 8


def test_sampled_frames_per_family(build):
    legacy, nvila = build("vila1.5-3b"), build("nvila-lite-2b")
    frames = scene_frames(10)
    assert legacy.encoder.prepare_video(Video(frames, num_frames=4)).frames == [frames[i] for i in (0, 3, 6, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=4)).frames == [frames[i] for i in (0, 3, 6, 9)]
    assert legacy.encoder.prepare_video(Video(frames, num_frames=3)).frames == [frames[i] for i in (0, 4, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=3)).frames == [frames[i] for i in (0, 4, 9)]
    assert legacy.encoder.prepare_video(Video(frames, num_frames=6)).frames == [frames[i] for i in (0, 1, 3, 5, 7, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=6)).frames == [frames[i] for i in (0, 2, 4, 5, 7, 9)]


def st_keys(path: Path) -> set[str]:
    with safe_open(str(path), "pt") as f:
        return set(f.keys())


def test_released_files_fields_and_keys(build):
    build("vila1.5-3b")
    build("vila1.5-40b")
    build("nvila-8b")
    build("vila1.5-3b-hf-preview")
    v15, v40, nv, hf = (_BUILT[n] for n in ("vila1.5-3b", "vila1.5-40b", "nvila-8b", "vila1.5-3b-hf-preview"))
    top = json.loads((v15 / "config.json").read_text())
    assert (top["model_type"], top["architectures"], top["image_aspect_ratio"]) == (
        "llava_llama", ["LlavaLlamaModel"], "resize")
    assert {"llm_cfg", "vision_tower_cfg", "mm_projector_cfg", "s2_scales", "interpolate_mode", "vision_resolution",
            "resume_path", "num_video_frames"} <= set(top)
    assert "dynamic_s2" not in top and "video_encoder" not in top  # VILA1.5 configs predate these fields
    assert "vision_model.head.probe" in st_keys(v15 / "vision_tower/model.safetensors")  # MAP head is stored
    assert {p.name for p in (v15 / "llm").iterdir()} == {
        "config.json", "generation_config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
        "special_tokens_map.json"}  # Llama-2's SentencePiece tokenizer, as released
    assert st_keys(v15 / "mm_projector/model.safetensors") == {f"layers.{i}.{p}" for i in (1, 2, 4)
                                                               for p in ("weight", "bias")}
    intern = st_keys(v40 / "vision_tower/model.safetensors")
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
    assert "vision_model.head.probe" not in st_keys(nv / "vision_tower/model.safetensors")
    top_hf = json.loads((hf / "config.json").read_text())
    assert (top_hf["model_type"], top_hf["version"], top_hf["chat_template"]) == ("vila", "2.0", "vicuna_v1")


def test_detection_reads_the_config_not_the_name(build, tmp_path):
    build("nvila-lite-2b")
    import shutil

    copy = Path(shutil.copytree(_BUILT["nvila-lite-2b"], tmp_path / "VILA1.5-3b"))
    assert load_model(copy).info.family == "nvila-lite"


def test_float_equal_batches_for_s2_family(build):
    model = build("vila1.5-3b-s2")
    frames = scene_frames(2, seed=3)
    with torch.no_grad():
        (seg,) = model._segments([[frames[0], "x"]])
    assert seg.blocks[0].shape == (16, model.llm.config.hidden_size)


@pytest.mark.parametrize("name", ["vila1.5-3b", "vila1.5-40b", "nvila-lite-2b", "nvila-8b"])
def test_batch_of_8_windows_equals_one_by_one(build, name):
    model = build(name)
    clips = [scene_frames(2 + i % 3, seed=i) for i in range(8)]  # differing lengths: left padding is exercised
    batched = model.caption(clips, max_new_tokens=10)
    assert batched == [model.caption([c], max_new_tokens=10)[0] for c in clips]
    assert len(set(batched)) > 1
    scores = model.score_labels(clips, ["a red car", "a person walking"])
    single = [model.score_labels([c], ["a red car", "a person walking"])[0] for c in clips]
    assert [[(s.label, round(s.score, 4)) for s in row] for row in scores] == [
        [(s.label, round(s.score, 4)) for s in row] for row in single]


@pytest.mark.parametrize(("name", "base"), [("nvila-8b-hf", "nvila-8b"), ("nvila-lite-2b-hf", "nvila-lite-2b")])
def test_flat_hf_layout_gives_the_same_answers_as_the_released_layout(build, name, base):
    from workers.runtime.inspect import describe

    flat, original = build(name), build(base)
    assert (flat.info.family, flat.info.layout) == (original.info.family, "nvila-hf")
    assert (flat.info.tokens_per_image, flat.info.tokens_per_frame) == (
        original.info.tokens_per_image, original.info.tokens_per_frame)
    frames = scene_frames(4, seed=2)
    prompts = [[frames[0], "What?"], [frames[0], frames[1], "Compare."], [Video(frames), "What happens?"]]
    assert flat.generate(prompts, max_new_tokens=6) == original.generate(prompts, max_new_tokens=6)
    top = json.loads((_BUILT[name] / "config.json").read_text())
    assert {"text_config", "vision_config", "image_token_id", "video_token_id"} <= set(top)
    keys = st_keys(_BUILT[name] / "model.safetensors")
    assert {k.split(".")[0] for k in keys} == {"llm", "vision_tower", "mm_projector"}
    assert "vision_tower.vision_model.embeddings.patch_embedding.weight" in keys
    assert "mm_projector.layers.1.weight" in keys and "llm.lm_head.weight" in keys
    info = describe(_BUILT[name])
    assert info["parameters"]["mm_projector"] == sum(p.numel() for p in flat.projector.parameters())


def test_flat_hf_errors_name_the_field_or_key(build, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    from core.errors import ModelLayoutError

    build("nvila-lite-2b-hf")
    path = Path(shutil.copytree(_BUILT["nvila-lite-2b-hf"], tmp_path / "flat"))
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


def test_fps_sampling_of_a_clip(build):
    model = build("nvila-lite-2b")
    frames = scene_frames(20)
    picked = model.encoder.prepare_video(Video(frames, num_frames=4, fps=2, video_fps=10)).frames
    assert picked == [frames[i] for i in (0, 5, 10, 15)]
    assert len(model.encoder.prepare_video(Video(frames, fps=1, video_fps=10)).frames) == 2


def test_like_checkpoints_are_deterministic(tmp_path):
    for name in ("vila1.5-3b", "vila1.5-40b", "nvila-8b-hf"):
        a, b = make_tiny(tmp_path / f"{name}-a", like=name), make_tiny(tmp_path / f"{name}-b", like=name, seed=0)
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        for rel in files:
            if rel.suffix in (".safetensors", ".model"):
                assert (a / rel).read_bytes() == (b / rel).read_bytes(), (name, rel)


def test_spatial_pool_must_divide_the_grid(build, tmp_path):
    import shutil

    from core.errors import ModelLayoutError

    build("nvila-8b-video")
    path = Path(shutil.copytree(_BUILT["nvila-8b-video"], tmp_path / "v"))
    config = json.loads((path / "config.json").read_text())
    config["video_encoder"] = '{"_target_": "llava.model.encoders.TSPVideoEncoder", "pool_sizes": [[8, 3, 3]]}'
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLayoutError, match="pool size"):
        load_model(path)
