"""VilaModel operations on the tiny checkpoint: strings, determinism, batching, scoring, masking."""
from __future__ import annotations

import math

import pytest
import torch

from core.errors import InvalidRequest
from tests.support.model_fixtures import scene_frames
from workers.runtime import ModelInfo, load_model
from workers.runtime.decoding import greedy_generate
from workers.runtime.inputs import Segment
from workers.runtime.media import MEDIA_TOKENS, VIDEO

LABELS = ["a person walking", "a vehicle moving", "an object moving left", "nothing moving"]


def windows(n: int, frames: int = 4) -> list:
    # differing frame counts give differing prompt lengths, so left padding is exercised
    return [scene_frames(frames + (i % 3), seed=i) for i in range(n)]


def test_info(tiny_model, tiny_model_dir):
    info = tiny_model.info
    assert isinstance(info, ModelInfo)
    assert info.model_id == tiny_model_dir.name and info.path == str(tiny_model_dir.resolve())
    assert (info.family, info.projector, info.template) == ("nvila-video", "mlp_downsample", "auto")
    assert (info.layout, info.tokens_per_image) == ("llava_llama", 16)
    assert info.vision_tower.startswith("siglip-64px-p8")
    assert info.tokens_per_frame == 16 + 1  # 8x8 patches merged 2x2, plus the "\n" token
    assert (info.dtype, info.device) == ("float32", "cpu")
    params = sum(p.numel() for m in (tiny_model.llm, tiny_model.tower, tiny_model.projector) for p in m.parameters())
    assert info.parameters == params


def test_prompt_rendering_and_stops(tiny_model):
    text = tiny_model.template.render(tiny_model.tokenizer, VIDEO + "What is there?")
    assert text == ("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n"
                    "<vila/video>What is there?<|im_end|>\n<|im_start|>assistant\n")
    ids = tiny_model._prompt_ids(VIDEO + "What is there?")
    assert ids.count(tiny_model.media.video_id) == 1
    assert tiny_model._stop_strings == ("<|im_end|>",)


def test_caption_strings_deterministic_and_image_dependent(tiny_model):
    clips = windows(4)
    first = tiny_model.caption(clips, max_new_tokens=12)
    assert first == tiny_model.caption(clips, max_new_tokens=12)
    assert all(isinstance(c, str) for c in first) and len(first) == 4
    assert any(first) and len(set(first)) > 1  # frames change the answer
    assert not any(token in c for c in first for token in MEDIA_TOKENS)
    assert tiny_model.caption([], max_new_tokens=4) == []


def test_prompt_changes_caption(tiny_model):
    clip = windows(1)
    a = tiny_model.caption(clip, max_new_tokens=10)
    b = tiny_model.caption(clip, prompt="What color is the square?", max_new_tokens=10)
    assert a != b


def test_batch_equals_one_by_one(tiny_model):
    clips = windows(8)
    batched = tiny_model.caption(clips, max_new_tokens=16)
    single = [tiny_model.caption([clip], max_new_tokens=16)[0] for clip in clips]
    assert batched == single
    questions = [f"Is there a {w} thing?" for w in ("red", "blue", "big", "small", "moving", "still", "left", "up")]
    assert tiny_model.ask(clips, questions, max_new_tokens=8) == [
        tiny_model.ask([c], [q], max_new_tokens=8)[0] for c, q in zip(clips, questions)]


def test_ask_and_generate_text(tiny_model):
    clips = windows(2)
    answers = tiny_model.ask(clips, ["What moves?"], max_new_tokens=8)
    assert len(answers) == 2 and answers == tiny_model.ask(clips, ["What moves?", "What moves?"], max_new_tokens=8)
    with pytest.raises(InvalidRequest, match="questions"):
        tiny_model.ask(clips, ["a", "b", "c"])
    texts = tiny_model.generate_text(["Summarize: a red car moves left.", "Say hello."], max_new_tokens=10)
    assert all(isinstance(t, str) for t in texts)
    assert texts == tiny_model.generate_text(["Summarize: a red car moves left.", "Say hello."], max_new_tokens=10)
    assert texts[0] == tiny_model.generate_text(["Summarize: a red car moves left."], max_new_tokens=10)[0]
    # media placeholders typed by a user are removed, never spliced
    assert tiny_model.generate_text(["<vila/video>Say hello."], max_new_tokens=10)[0] == texts[1]


def test_max_new_tokens_bounds_output(tiny_model):
    clip = windows(1)
    short = tiny_model.caption(clip, max_new_tokens=3)[0]
    assert len(tiny_model.tokenizer(short, add_special_tokens=False).input_ids) <= 3
    assert tiny_model.caption(clip, max_new_tokens=0) == [""]


def test_score_labels(tiny_model):
    clips = windows(3)
    results = tiny_model.score_labels(clips, LABELS)
    assert len(results) == 3
    for scores in results:
        assert sorted(s.label for s in scores) == sorted(LABELS)
        assert math.isclose(sum(s.score for s in scores), 1.0, abs_tol=1e-5)
        assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
        assert max(s.score for s in scores) - min(s.score for s in scores) > 1e-4  # the text matters
    assert results == tiny_model.score_labels(clips, LABELS)
    # with a fixed question, label order changes nothing (the default question lists the labels in order)
    question = "What happens?"
    fixed = tiny_model.score_labels(clips, LABELS, question=question)
    permuted = tiny_model.score_labels(clips, LABELS[::-1], question=question)
    assert fixed != results
    for a, b in zip(fixed, permuted):
        assert {s.label: round(s.score, 5) for s in a} == {s.label: round(s.score, 5) for s in b}
    single = tiny_model.score_labels(clips[1:2], LABELS)[0]
    assert [(s.label, round(s.score, 5)) for s in single] == [(s.label, round(s.score, 5)) for s in results[1]]


def test_score_depends_on_label_text(tiny_model):
    clip = windows(1)
    base = {s.label: s.score for s in tiny_model.score_labels(clip, ["a red car", "a blue bird"])[0]}
    changed = {s.label: s.score for s in tiny_model.score_labels(clip, ["a red car", "a green tree"])[0]}
    assert base["a red car"] != pytest.approx(changed["a red car"], abs=1e-4)
    with pytest.raises(InvalidRequest):
        tiny_model.score_labels(clip, [])
    with pytest.raises(InvalidRequest):
        tiny_model.score_labels(clip, ["ok", "  "])


def test_invalid_windows(tiny_model):
    with pytest.raises(InvalidRequest, match="window 1 has no frames"):
        tiny_model.caption([scene_frames(2), []])
    with pytest.raises(InvalidRequest, match="not an image"):
        tiny_model.caption([[b"jpeg"]])
    with pytest.raises(InvalidRequest, match="too many frames"):
        tiny_model.caption([scene_frames(130)])  # 130 * 17 positions > 2048


def test_media_tokens_are_banned_and_never_generated(tiny_model_dir):
    model = load_model(tiny_model_dir)  # private copy: its output layer is altered below
    media = model.media
    assert [media.sentinel_id, media.image_id, media.video_id] == [
        model.tokenizer.convert_tokens_to_ids(t) for t in MEDIA_TOKENS]
    assert set(media.banned_ids) >= {media.sentinel_id, media.image_id, media.video_id}
    assert model.llm.get_input_embeddings().num_embeddings >= len(model.tokenizer)
    with torch.no_grad():  # make the untrained media rows win every argmax
        model.llm.get_output_embeddings().weight[list(media.banned_ids)] = 50.0 * model.llm.model.norm.weight
    clips = windows(2)
    segments = [Segment(model._prompt_ids(VIDEO + "Describe."), v) for v in model._encode_windows(clips)]
    batch = model._batch(segments, 8)
    common = dict(max_new_tokens=8, stop_ids=model._stop_ids, pad_id=model._pad_id)
    unmasked = greedy_generate(model.llm, batch, banned=torch.tensor([], dtype=torch.long), **common)
    assert any(t in media.banned_ids for row in unmasked for t in row)  # the test can fail
    masked = greedy_generate(model.llm, batch, banned=model._banned, **common)
    assert all(t not in media.banned_ids for row in masked for t in row) and all(masked)
    assert not any(token in c for c in model.caption(clips, max_new_tokens=8) for token in MEDIA_TOKENS)
    scores = model.score_labels(clips, LABELS)
    assert all(math.isclose(sum(s.score for s in row), 1.0, abs_tol=1e-5) for row in scores)


def test_generation_stops_at_end_of_turn(tiny_model):
    model = tiny_model
    clips = windows(8)
    segments = [Segment(model._prompt_ids(VIDEO + "Describe."), v) for v in model._encode_windows(clips)]
    batch = model._batch(segments, 40)
    common = dict(max_new_tokens=40, banned=model._banned, pad_id=model._pad_id)
    eos = model.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert eos in model._stop_ids
    free = greedy_generate(model.llm, batch, stop_ids=[], **common)
    stopped = greedy_generate(model.llm, batch, stop_ids=model._stop_ids, **common)
    assert any(eos in row for row in free)  # the tiny model does end some answers
    for f, s in zip(free, stopped):
        assert eos not in s
        assert s == (f[: f.index(eos)] if eos in f else f)
