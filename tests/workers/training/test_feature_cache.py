"""The frame store and the frozen-tower cache: the same pixels and the same loss as reading the frames each time."""
from __future__ import annotations

import random

import torch

from workers.runtime import load_model
from workers.training.batching import Turn, TurnEncoder, turn_loss
from workers.training.data import load_frames, read_dataset
from workers.training.feature_cache import FrameStore, TowerCache, media_key
from workers.training.trainer import param_groups


def test_cached_tower_outputs_give_the_same_batch_as_the_frames(short_run, short_recipe):
    model = load_model(short_run / "stage1-align")
    param_groups(model, ("mm_projector", "llm"))  # stage 2's freezing: the tower is frozen, in eval mode
    samples = read_dataset(short_run / "data" / "video_text.json")
    picked = random.Random(0).sample(samples, 3)
    turns = [Turn(i, *s.turns[0]) for i, s in enumerate(picked)]
    encoder = TurnEncoder(model)
    cache = TowerCache(encoder, FrameStore(model.processor, short_recipe.frames))

    cached = turn_loss(model.llm, encoder.build_projected(encoder.project(cache.outputs(picked)), turns))
    direct = turn_loss(model.llm, encoder.build([load_frames(s, short_recipe.frames) for s in picked], turns))
    assert torch.allclose(cached, direct, atol=1e-5)
    assert len(cache) == 3
    cache.outputs(picked + picked[:1])  # seen clips are not encoded again
    assert len(cache) == 3 and media_key(picked[0]) == (picked[0].frames, picked[0].mirror)


def test_cached_outputs_do_not_change_when_the_batch_does(short_run, short_recipe):
    model = load_model(short_run / "stage1-align")
    param_groups(model, ("mm_projector", "llm"))
    samples = read_dataset(short_run / "data" / "video_text.json")[:4]
    encoder = TurnEncoder(model)
    alone = TowerCache(encoder, FrameStore(model.processor, short_recipe.frames)).outputs(samples[:1])[0]
    together = TowerCache(encoder, FrameStore(model.processor, short_recipe.frames)).outputs(samples)[0]
    assert torch.allclose(alone, together, atol=1e-5)
    assert not alone.requires_grad


def test_frame_store_gives_the_processors_pixels_and_reads_each_frame_once(short_run, short_recipe):
    model = load_model(short_run / "stage1-align")
    samples = read_dataset(short_run / "data" / "video_text.json")[:3]
    store = FrameStore(model.processor, short_recipe.frames)
    pixels, counts = store.pixels(samples)
    direct = model.processor([f for s in samples for f in load_frames(s, short_recipe.frames)])
    assert torch.equal(pixels, direct)
    assert counts == [len(s.frames) for s in samples]
    first = store.frame(samples[0].frames[0])
    # the views of one clip share its frames: each frame is read once
    assert store.frame(samples[0].frames[0]) is first and len(store) == len({f for s in samples for f in s.frames})


def test_views_give_the_same_batch_as_their_frames(short_run, short_recipe, tmp_path):
    from workers.training.scenes.dataset import write_datasets

    model = load_model(short_run / "stage1-align")
    param_groups(model, ("mm_projector", "llm"))
    jobs = [(101, {"objects": [["red", "circle"], ["blue", "square"]], "actions": ["moving left", "staying still"]})]
    paths = write_datasets(tmp_path, jobs, frames=short_recipe.frames, image_size=short_recipe.dims.image_size,
                           max_side=160, workers=1, views=("mirror", "reverse"))
    samples = read_dataset(paths["video_text"])
    assert [(s.mirror, s.reverse) for s in samples] == [(False, False), (False, True), (True, False), (True, True)]
    turns = [Turn(i, *s.turns[0]) for i, s in enumerate(samples)]
    encoder = TurnEncoder(model)
    store = FrameStore(model.processor, short_recipe.frames)
    cache = TowerCache(encoder, store)
    cached = cache.outputs(samples)
    assert len(cache) == 2  # a reversed view reuses its frames' outputs
    assert torch.equal(cached[1], cached[0].flip(0)) and not torch.allclose(cached[2], cached[0])
    direct = [load_frames(s, short_recipe.frames) for s in samples]
    assert torch.allclose(store.pixels(samples)[0], model.processor([f for clip in direct for f in clip]))
    loss = turn_loss(model.llm, encoder.build_projected(encoder.project(cached), turns))
    assert torch.allclose(loss, turn_loss(model.llm, encoder.build(direct, turns)), atol=1e-5)
