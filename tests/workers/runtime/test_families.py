"""Every released family, as a tiny checkpoint in its released layout: detection, loading, image/multi-image/video."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model
from workers.runtime.prompting import IMAGE_TOKEN_INDEX, Video
from workers.runtime.tiny import like_names

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


@pytest.mark.parametrize("name", sorted(EXPECTED) + HF_PREVIEW)
def test_family_loads_and_runs_image_multi_image_and_video(likes, name):
    model = likes.model(name)
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


def test_images_change_the_answer(likes):
    for name in ("vila1.5-3b", "nvila-lite-2b", "nvila-8b"):
        model = likes.model(name)
        outputs = {model.generate([[scene_frames(1, seed=s, size=(120, 60))[0], "What?"]], max_new_tokens=8)[0]
                   for s in range(6)}
        assert len(outputs) > 1, name


def test_legacy_splice_uses_minus_200_and_no_newline_embedding(likes):
    model = likes.model("vila1.5-3b")
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


def test_nvila_splice_adds_newline_embedding_per_image_and_tile(likes):
    lite = likes.model("nvila-lite-2b")
    wide = scene_frames(1, size=(200, 64))[0]  # aspect 3.1 -> 3x1 grid + thumbnail
    (single,) = lite._segments([[wide, "What?"]])
    assert single.ids.count(lite.media.image_id) == 4 and [b.shape[0] for b in single.blocks] == [10] * 4
    (multi,) = lite._segments([[wide, wide, "What?"]])  # several images: no tiling
    assert [b.shape[0] for b in multi.blocks] == [10, 10]
    assert lite.projector.layers[0].order == "row"
    s2 = likes.model("nvila-8b")
    (one,) = s2._segments([[wide, "What?"]])
    assert one.ids.count(s2.media.image_id) == 1 and one.blocks[0].shape[0] == 4 * 12 + 1  # 12x1 grid (6:1 closest)
    (video,) = s2._segments([[Video(scene_frames(3)), "What?"]])
    assert video.ids.count(s2.media.video_id) == 1 and video.blocks[0].shape[0] == 3 * (4 + 1)


def test_temporal_pooling_of_the_video_family(likes):
    model = likes.model("nvila-8b-video")
    (seg,) = model._segments([[Video(scene_frames(16)), "What?"]])
    assert seg.blocks[0].shape[0] == 2 * (16 + 1)  # 16 frames pooled by 8 -> 2 frames, each + "\n"
    (few,) = model._segments([[Video(scene_frames(5)), "What?"]])
    assert few.blocks[0].shape[0] == 16 + 1  # resampled to one pool of 8


def test_sampled_frames_per_family(likes):
    legacy, nvila = likes.model("vila1.5-3b"), likes.model("nvila-lite-2b")
    frames = scene_frames(10)
    assert legacy.encoder.prepare_video(Video(frames, num_frames=4)).frames == [frames[i] for i in (0, 3, 6, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=4)).frames == [frames[i] for i in (0, 3, 6, 9)]
    assert legacy.encoder.prepare_video(Video(frames, num_frames=3)).frames == [frames[i] for i in (0, 4, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=3)).frames == [frames[i] for i in (0, 4, 9)]
    assert legacy.encoder.prepare_video(Video(frames, num_frames=6)).frames == [frames[i] for i in (0, 1, 3, 5, 7, 9)]
    assert nvila.encoder.prepare_video(Video(frames, num_frames=6)).frames == [frames[i] for i in (0, 2, 4, 5, 7, 9)]


def test_detection_reads_the_config_not_the_name(likes, tmp_path):
    import shutil

    copy = Path(shutil.copytree(likes.path("nvila-lite-2b"), tmp_path / "VILA1.5-3b"))
    assert load_model(copy).info.family == "nvila-lite"


def test_float_equal_batches_for_s2_family(likes):
    model = likes.model("vila1.5-3b-s2")
    frames = scene_frames(2, seed=3)
    with torch.no_grad():
        (seg,) = model._segments([[frames[0], "x"]])
    assert seg.blocks[0].shape == (16, model.llm.config.hidden_size)


@pytest.mark.parametrize("name", ["vila1.5-3b", "vila1.5-40b", "nvila-lite-2b", "nvila-8b"])
def test_batch_of_8_windows_equals_one_by_one(likes, name):
    model = likes.model(name)
    clips = [scene_frames(2 + i % 3, seed=i) for i in range(8)]  # differing lengths: left padding is exercised
    batched = model.caption(clips, max_new_tokens=10)
    assert batched == [model.caption([c], max_new_tokens=10)[0] for c in clips]
    assert len(set(batched)) > 1
    scores = model.score_labels(clips, ["a red car", "a person walking"])
    single = [model.score_labels([c], ["a red car", "a person walking"])[0] for c in clips]
    assert [[(s.label, round(s.score, 4)) for s in row] for row in scores] == [
        [(s.label, round(s.score, 4)) for s in row] for row in single]


def test_fps_sampling_of_a_clip(likes):
    model = likes.model("nvila-lite-2b")
    frames = scene_frames(20)
    picked = model.encoder.prepare_video(Video(frames, num_frames=4, fps=2, video_fps=10)).frames
    assert picked == [frames[i] for i in (0, 5, 10, 15)]
    assert len(model.encoder.prepare_video(Video(frames, fps=1, video_fps=10)).frames) == 2


def test_spatial_pool_must_divide_the_grid(likes, tmp_path):
    import shutil

    from core.errors import ModelLayoutError

    path = Path(shutil.copytree(likes.path("nvila-8b-video"), tmp_path / "v"))
    config = json.loads((path / "config.json").read_text())
    config["video_encoder"] = '{"_target_": "llava.model.encoders.TSPVideoEncoder", "pool_sizes": [[8, 3, 3]]}'
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLayoutError, match="pool size"):
        load_model(path)
