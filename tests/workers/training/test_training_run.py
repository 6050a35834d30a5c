"""A short run of the tiny-synthetic recipe: it runs, loss falls, every stage loads, it resumes."""
from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace

import pytest
import torch

from core.errors import InvalidInput
from workers.runtime import load_model
from workers.training.recipe import trainable_components
from workers.training.trainer import Trainer, choose_turns

STAGES = ("stage1-align", "stage2-pretrain", "stage3-sft")


def losses(out):
    return [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]


def test_every_stage_is_saved_in_the_released_layout_and_loads(short_run):
    for name in ("base", *STAGES):
        folder = short_run / name
        for part in ("config.json", "llm/config.json", "llm/tokenizer.json", "vision_tower/model.safetensors",
                     "vision_tower/preprocessor_config.json", "mm_projector/model.safetensors"):
            assert (folder / part).is_file(), f"{name}/{part}"
        model = load_model(folder)
        assert model.info.template == "auto" and model.info.tokens_per_frame == 17
        assert isinstance(model.caption([[_frame()] * 4], max_new_tokens=3)[0], str)
    assert (short_run / "loss_curves.png").stat().st_size > 1000
    assert json.loads((short_run / "stage2-pretrain" / "training.json").read_text())["trainable"] == \
        ["mm_projector", "llm"]
    assert json.loads((short_run / "stage3-sft" / "training.json").read_text())["trainable"] == \
        ["vision_tower", "mm_projector", "llm"]


def test_loss_falls(short_run):
    text = [x["loss"] for x in losses(short_run) if x["stage"] == "text"]
    assert text[-1] < text[0] - 0.5
    vision = [x["loss"] for x in losses(short_run) if x["stage"] == "vision"]
    assert vision[-1] < vision[0]
    align = [x["loss"] for x in losses(short_run) if x["stage"] == "align"]
    assert sum(align[-3:]) / 3 < sum(align[:3]) / 3


def test_stages_change_only_their_trainable_parts(short_run):
    from safetensors.torch import load_file

    before, after = short_run / "base", short_run / "stage1-align"
    for frozen in ("llm", "vision_tower"):  # aligning trains the projector only
        a, b = load_file(before / frozen / "model.safetensors"), load_file(after / frozen / "model.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), frozen
    tower_a = load_file(after / "vision_tower" / "model.safetensors")
    tower_b = load_file(short_run / "stage3-sft" / "vision_tower" / "model.safetensors")
    assert any(not torch.equal(tower_a[k], tower_b[k]) for k in tower_a)  # instruction tuning trains it
    proj_a = load_file(before / "mm_projector" / "model.safetensors")
    proj_b = load_file(after / "mm_projector" / "model.safetensors")
    assert any(not torch.equal(proj_a[k], proj_b[k]) for k in proj_a)


def test_freezing_rules():
    assert trainable_components("align", tower_from_scratch=False) == ("mm_projector",)
    assert trainable_components("pretrain", tower_from_scratch=False) == ("mm_projector", "llm")
    assert trainable_components("sft", tower_from_scratch=False) == ("vision_tower", "mm_projector", "llm")
    assert trainable_components("align", tower_from_scratch=True) == ("vision_tower", "mm_projector")


def test_a_stopped_run_resumes_to_the_same_weights(short_run, short_recipe, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "resumed"
    shutil.copytree(short_run, out)
    shutil.rmtree(out / "stage3-sft")
    torch.set_num_threads(1)
    stopped = Trainer(short_recipe, out, progress=False, log=lambda _: None, max_steps=3).run()
    assert stopped is None and (out / "state" / "stage3.pt").is_file()
    final = Trainer(short_recipe, out, progress=False, log=lambda _: None).run()
    assert final == out / "stage3-sft" and not (out / "state" / "stage3.pt").exists()
    a = load_file(short_run / "stage3-sft" / "mm_projector" / "model.safetensors")
    b = load_file(final / "mm_projector" / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def _frame():
    from PIL import Image

    return Image.new("RGB", (80, 60), (90, 90, 90))


def test_lead_turns_are_always_trained():
    from workers.training.data import Sample
    from workers.training.recipe import Stage

    sample = Sample("x", (), None, tuple((f"q{i}", f"a{i}") for i in range(8)))
    stage = Stage("sft", ("conversations",), steps=1, clips_per_step=1, turns_per_clip=4, lr=1e-3, lead_turns=3)
    for seed in range(5):
        turns = choose_turns(sample, stage, random.Random(seed))
        assert turns[:3] == [("q0", "a0"), ("q1", "a1"), ("q2", "a2")] and len(turns) == 4
        assert turns[3] in sample.turns[3:]


def test_tower_learning_rate_scale(short_run):
    from workers.training.trainer import param_groups

    model = load_model(short_run / "stage3-sft")
    groups = param_groups(model, trainable_components("sft", tower_from_scratch=False), tower_lr_scale=0.1)
    scales = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    assert all(scales[id(p)] == 0.1 for p in model.tower.parameters())
    assert all(scales[id(p)] == 1.0 for p in model.llm.parameters())
    frozen = param_groups(model, trainable_components("pretrain", tower_from_scratch=False))
    assert not any(p.requires_grad for p in model.tower.parameters()) and len(frozen) == 2


def test_the_warmups_frames_can_be_drawn_mirrored(short_run, short_recipe):
    from workers.training.feature_cache import FrameStore
    from workers.training.trainer import StoredFrames
    from workers.training.vision_warmup import patch_grid

    model = load_model(short_run / "base")
    scenes = json.loads((short_run / "data" / "scenes.json").read_text())
    store = FrameStore(model.processor, short_recipe.frames)
    frames = StoredFrames(short_run / "data", scenes, store, patch_grid(model), short_recipe.frames, mirror=True)
    keys = frames.draw(random.Random(3), len(scenes))
    assert {mirror for _, _, mirror in keys} == {True, False}
    record, k, _ = keys[0]
    plain, flipped = frames.load((record, k, False)), frames.load((record, k, True))
    assert flipped.pixels.tobytes() == plain.pixels[:, ::-1].tobytes()
    assert (flipped.targets[0] == plain.targets[0][:, ::-1]).all()
    plain_keys = StoredFrames(short_run / "data", scenes, store, patch_grid(model), short_recipe.frames).draw(
        random.Random(3), len(scenes))
    assert not any(mirror for _, _, mirror in plain_keys)


def test_the_warmup_draws_crowded_frames(short_run, short_recipe):
    from workers.training.feature_cache import FrameStore
    from workers.training.scenes.labels import COLOUR_CLASSES, SHAPE_CLASSES
    from workers.training.trainer import StoredFrames
    from workers.training.vision_warmup import patch_grid

    assert short_recipe.crowded_frames > 0
    crowded = json.loads((short_run / "data" / "crowded.json").read_text())
    assert len(crowded) == short_recipe.crowded_frames
    model = load_model(short_run / "base")
    records = [{**c, "folder": "crowded", "frames": 1} for c in crowded]
    frames = StoredFrames(short_run / "data", records, FrameStore(model.processor, short_recipe.frames),
                          patch_grid(model), short_recipe.frames)
    for record in records:
        keys = frames.draw(random.Random(0), 1)
        assert keys[0][1] == 0  # one frame per crowded scene
        frame = frames.load((record, 0, False))
        assert frame.pixels.shape == (model.processor.height, model.processor.width, 3)
        colours, shapes = frame.targets[:2]
        labelled = {(COLOUR_CLASSES[c], SHAPE_CLASSES[s]) for c, s in zip(colours.ravel(), shapes.ravel()) if c}
        assert labelled == {tuple(o) for o in record["options"]["objects"]}


def test_a_state_saved_without_the_probe_is_a_clear_error(short_run, short_recipe, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(short_run, out)
    shutil.rmtree(out / "stage3-sft")
    torch.set_num_threads(1)
    no_probe = replace(short_recipe, stages=tuple(replace(s, probe_weight=0.0) for s in short_recipe.stages))
    assert short_recipe.stages[-1].probe_weight > 0
    assert Trainer(no_probe, out, progress=False, log=lambda _: None, max_steps=2).run() is None
    with pytest.raises(InvalidInput, match="without the token probe"):
        Trainer(short_recipe, out, progress=False, log=lambda _: None).run()
