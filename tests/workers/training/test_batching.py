"""Turns sharing their clip's prompt head give the loss and gradients of the turns batched one by one."""
from __future__ import annotations

import random

import torch

from workers.runtime import load_model
from workers.training.batching import Turn, TurnEncoder, shared_turn_loss, turn_loss
from workers.training.data import load_frames, read_dataset
from workers.training.trainer import param_groups


def _grads(model, loss):
    params = [p for part in (model.tower, model.projector, model.llm) for p in part.parameters()]
    for p in params:
        p.grad = None
    loss.backward()
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]


def test_shared_heads_give_the_same_loss_and_gradients(short_run, short_recipe):
    model = load_model(short_run / "stage2-pretrain")
    param_groups(model, ("mm_projector", "llm", "vision_tower"))  # stage 3: everything trains
    samples = read_dataset(short_run / "data" / "conversations.json")
    rng = random.Random(3)
    picked = rng.sample(samples, 3)
    # turns of different lengths, in mixed order, several per clip
    turns = [Turn(i, q, a) for i, s in enumerate(picked) for q, a in rng.sample(list(s.turns), 3)]
    rng.shuffle(turns)
    encoder = TurnEncoder(model)
    clips = [load_frames(s, short_recipe.frames) for s in picked]

    one_by_one = turn_loss(model.llm, encoder.build(clips, turns))
    expected = _grads(model, one_by_one)
    shared = shared_turn_loss(model.llm, encoder.build_shared(encoder.encode_clips(clips), turns))
    got = _grads(model, shared)

    assert torch.allclose(shared, one_by_one, atol=1e-5)
    assert len({len(encoder.prompt_ids(t.question)) + len(encoder.answer_ids(t.answer)) for t in turns}) > 1
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))
    assert any(g.abs().max() > 0 for g in got[:5])  # the tower's first parameters: gradients reach the frames
