"""Turns sharing their clip's prompt head give the loss and gradients of the turns batched one by one; probe
targets sit on the video's positions."""
from __future__ import annotations

import random

import torch

from workers.runtime import load_model
from workers.training.batching import IGNORE, Turn, TurnEncoder, shared_turn_loss, turn_loss
from workers.training.data import load_frames, read_dataset
from workers.training.token_probe import TokenProbe, TokenTargets
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


def test_token_labels_sit_on_the_video_positions_in_both_batch_forms(short_run, short_recipe):
    model = load_model(short_run / "stage2-pretrain")
    encoder = TurnEncoder(model)
    samples = [s for s in read_dataset(short_run / "data" / "conversations.json")][:3]
    frames, tokens, hidden = 4, 16, model.llm.config.hidden_size
    # Every video token's features carry its (clip, frame, token) code, and so does its target.
    codes = [torch.arange(frames * tokens).reshape(frames, tokens) + 1000 * c for c in range(3)]
    videos = [code.float()[..., None].expand(frames, tokens, hidden).clone() for code in codes]
    targets = [code % 6 for code in codes]
    turns = [Turn(c, q, a) for c, s in enumerate(samples) for q, a in s.turns[:2]]

    flat = encoder.build_projected(videos, turns, targets)
    for row, turn in enumerate(turns):
        keep = flat.token_labels[row] != IGNORE
        at = flat.batch.embeds[row, keep, 0]
        assert keep.sum() == frames * tokens
        assert torch.equal(at, codes[turn.clip].reshape(-1).float())
        assert torch.equal(flat.token_labels[row, keep], targets[turn.clip].reshape(-1))

    shared = encoder.build_shared(videos, turns, targets)
    for row in range(3):
        keep = shared.head_token_labels[row] != IGNORE
        assert torch.equal(shared.head.embeds[row, keep, 0], codes[row].reshape(-1).float())


def test_the_token_probe_adds_its_loss_and_trains_the_llm(short_run, short_recipe):
    model = load_model(short_run / "stage2-pretrain")
    param_groups(model, ("mm_projector", "llm"))
    encoder = TurnEncoder(model)
    samples = read_dataset(short_run / "data" / "video_text.json")
    picked = [s for s in samples if not s.mirror][:4]
    targets = TokenTargets(short_run / "data", frames=short_recipe.frames, side=4)
    clip_targets = [targets.of(s) for s in picked]
    assert all(t.shape == (len(s.frames), 16, 3) for s, t in zip(picked, clip_targets))
    assert any((t != IGNORE).any() for t in clip_targets)
    turns = [Turn(i, *s.turns[0]) for i, s in enumerate(picked)]
    videos = encoder.encode_clips([load_frames(s, short_recipe.frames) for s in picked])
    batch = encoder.build_projected(videos, turns, clip_targets)
    probe = TokenProbe(model.llm.config.hidden_size, layer=2, weight=1.0)

    plain = turn_loss(model.llm, batch)
    with_probe = turn_loss(model.llm, batch, probe)
    assert with_probe > plain
    # The probe's gradient reaches the LLM's layers up to the one it reads, and not past it.
    model.llm.zero_grad(set_to_none=True)
    (with_probe - plain).backward()
    layers = model.llm.get_decoder().layers
    assert layers[1].mlp.down_proj.weight.grad.abs().max() > 0
    assert layers[2].mlp.down_proj.weight.grad is None or layers[2].mlp.down_proj.weight.grad.abs().max() == 0
