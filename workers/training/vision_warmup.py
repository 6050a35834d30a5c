"""Vision warm-up for a from-scratch tower: per-patch colour and shape classification on the scenes.

VILA starts from a pretrained SigLIP; a tower of random weights learns far too
slowly from the language loss alone (the first tiny runs stalled near chance on
shape and motion). This step stands in for the tower's pretraining: a linear
head on the tower's selected features predicts, for every patch of every frame,
the colour and the shape that covers it (``scenes.labels``) and where the
nearest object is (``nearest_object``), so the features say what is where. The head is
training glue and is dropped; only the tower's weights are kept.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from workers.runtime.model import VilaModel
from workers.training.parallel import Ranks
from workers.training.scenes.labels import COLOUR_CLASSES, SHAPE_CLASSES, patch_labels
from workers.training.scenes.spec import OBJECTS, ScenePlan, mirrored


class PatchHead(nn.Module):
    """Linear colour and shape logits, and the nearest object's centre, per vision token; with
    ``scene=True`` also the whole frame's :func:`scene_descriptor` from every token."""

    def __init__(self, width: int, *, scene: bool = False) -> None:
        super().__init__()
        self.colour = nn.Linear(width, len(COLOUR_CLASSES))
        self.shape = nn.Linear(width, len(SHAPE_CLASSES))
        self.where = nn.Linear(width, 2)
        self.scene = nn.Linear(width, len(OBJECTS) * 3) if scene else None

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.colour(features), self.shape(features), self.where(features)


def scene_descriptor(plan: ScenePlan, frame: int) -> np.ndarray:
    """(objects, 3): for every possible (colour, shape), whether it is visible in the frame and its centre
    (x, y in -1..1; 0 when absent).

    Trained from every token, it makes each token say which objects the frame holds and where: the
    LLM can then read a frame's objects, and compare their places across frames, from any of its tokens.
    """
    target = np.zeros((len(OBJECTS), 3), dtype=np.float32)
    for obj in plan.objects:
        if obj.alpha(frame) > 0.5:
            x, y = obj.position(frame, plan.frames)
            target[OBJECTS.index((obj.colour, obj.shape))] = (1.0, 2 * x - 1, 2 * y - 1)
    return target


def scene_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``logits`` (frames, tokens, objects * 3) against ``target`` (frames, objects, 3): presence
    (binary cross-entropy) from every token, and the centres of the visible objects (squared error)."""
    out = logits.reshape(logits.shape[0], logits.shape[1], -1, 3)
    want = target[:, None].expand_as(out)
    present = want[..., 0] > 0
    loss = nn.functional.binary_cross_entropy_with_logits(out[..., 0], want[..., 0]) * len(OBJECTS) / 3
    if present.any():
        loss = loss + nn.functional.mse_loss(out[..., 1:][present], want[..., 1:][present])
    return loss


def patch_loss(colour_logits: torch.Tensor, shape_logits: torch.Tensor, colours: torch.Tensor,
               shapes: torch.Tensor) -> torch.Tensor:
    """Object vs background over all patches, plus colour and shape over the object patches only.

    Objects cover a few percent of the patches: averaged over all of them, a
    loss is minimised by the background alone and never learns shape.
    """
    colour_logits = colour_logits.reshape(-1, colour_logits.shape[-1])
    shape_logits = shape_logits.reshape(-1, shape_logits.shape[-1])
    objects = colours > 0
    present = nn.functional.binary_cross_entropy_with_logits(
        torch.logsumexp(colour_logits[:, 1:], dim=-1) - colour_logits[:, 0], objects.float())
    if not objects.any():
        return present
    return present + nn.functional.cross_entropy(colour_logits[objects], colours[objects]) + \
        nn.functional.cross_entropy(shape_logits[objects], shapes[objects])


def nearest_object(plan: ScenePlan, frame: int, grid: int) -> np.ndarray:
    """(grid, grid, 2): for every patch, the centre (x, y in -1..1) of the nearest visible object, else 0.

    Every token of a frame then says where the objects are, so the LLM can read an
    object's position (and compare it across frames) without attending to exactly
    the one token that covers it.
    """
    centres = [np.asarray(o.position(frame, plan.frames)) for o in plan.objects if o.alpha(frame) > 0.5]
    target = np.zeros((grid, grid, 2), dtype=np.float32)
    if not centres:
        return target
    ys, xs = np.mgrid[0:grid, 0:grid]
    patch = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1)
    dist = np.stack([np.linalg.norm(patch - c, axis=-1) for c in centres])
    nearest = np.asarray(centres)[dist.argmin(axis=0)]
    return (nearest * 2 - 1).astype(np.float32)


def frame_targets(plan: ScenePlan, frame: int, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The warm-up's targets for one frame: :func:`patch_labels` (colour and shape ids) and
    :func:`nearest_object`."""
    colours, shapes = patch_labels(plan, frame, grid)
    return colours, shapes, nearest_object(plan, frame, grid)


@dataclass(frozen=True)
class WarmupFrame:
    """One frame the warm-up trains on: its pixels as the processor prepares them ((H, W, 3) uint8), its
    plan and frame index, and its :func:`frame_targets` (a frame is drawn many times: they are computed once)."""

    pixels: np.ndarray
    plan: ScenePlan
    index: int
    targets: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of(cls, pixels: np.ndarray, plan: ScenePlan, index: int, grid: int) -> "WarmupFrame":
        return cls(pixels, plan, index, frame_targets(plan, index, grid))

    def mirror(self) -> "WarmupFrame":
        """The frame flipped left to right, with its targets flipped to match (centres: x -> -x)."""
        colours, shapes, near = self.targets
        return WarmupFrame(self.pixels[:, ::-1], mirrored(self.plan), self.index,
                           (colours[:, ::-1], shapes[:, ::-1], near[:, ::-1] * np.float32([-1, 1])))


class FrameSource(Protocol):
    """Where the warm-up's frames come from: ``draw`` picks frames as keys (cheap; in a data-parallel run each
    rank's source holds its shard of the frames and draws its share of every batch), ``load`` makes a key's
    :class:`WarmupFrame`."""

    def draw(self, rng: random.Random, n: int) -> list[Any]: ...

    def load(self, key: Any) -> WarmupFrame: ...


def patch_grid(model: VilaModel) -> int:
    """Side of the tower's square patch grid; ValueError for a tower the warm-up cannot train."""
    grid = int(round(model.tower.num_tokens ** 0.5))
    if grid * grid != model.tower.num_tokens:
        raise ValueError("the vision warm-up needs a square patch grid without a CLS token")
    return grid


def with_gains(pixels: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 ``pixels`` with frame i's brightness scaled by ``gains[i]`` (like the scenes'
    auto-exposure drift), rounded and clipped to uint8 as a frame would be."""
    scaled = pixels.astype(np.float32) * gains.astype(np.float32)[:, None, None, None]
    return np.clip(scaled + np.float32(0.5), 0, 255).astype(np.uint8)


def warm_up_tower(model: VilaModel, frames: FrameSource, *, steps: int, batch: int, lr: float,
                  seed: int, scene_weight: float = 0.0, gain_jitter: float = 0.0,
                  on_step: Callable[[int, float], None] | None = None, ranks: Ranks = Ranks()) -> None:
    """Train ``model.tower`` (in place) with the patch head for ``steps`` steps of ``batch`` frames.

    ``frames`` gives :class:`WarmupFrame` for this tower's :func:`patch_grid`; with several ``ranks`` each
    draws its share of every batch from its own ``frames`` and the gradients are averaged. ``gain_jitter``
    scales each frame's brightness by a random factor within 1 +- it, so that the features (the objects'
    centres above all) do not move with the exposure: a brightness drift alone must not read as motion.
    """
    tower = model.tower
    patch_grid(model)
    torch.manual_seed(seed)  # the head starts alike on every rank
    head = PatchHead(tower.hidden_size, scene=scene_weight > 0)
    params = list(tower.parameters()) + list(head.parameters())
    for p in tower.parameters():
        p.requires_grad_(True)
    tower.train()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01, fused=True)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 30) * (0.1 + 0.9 * (1 - step / steps))
        rng = random.Random(f"{seed}-vision-{step}-{ranks.rank}")
        items = [frames.load(key) for key in frames.draw(rng, ranks.count(batch))]
        arrays = np.stack([item.pixels for item in items])
        if gain_jitter > 0:
            arrays = with_gains(arrays, np.array([rng.uniform(1 - gain_jitter, 1 + gain_jitter) for _ in items]))
        pixels = model.processor.normalize(arrays).to(model.device, model.dtype)
        colours = torch.from_numpy(np.stack([item.targets[0] for item in items])).reshape(-1)
        shapes = torch.from_numpy(np.stack([item.targets[1] for item in items])).reshape(-1)
        near = torch.from_numpy(np.stack([item.targets[2] for item in items]))
        features = tower(pixels)
        colour_logits, shape_logits, where = head(features)
        loss = patch_loss(colour_logits, shape_logits, colours, shapes)
        loss = loss + nn.functional.mse_loss(where, near.reshape(where.shape).to(where.device))
        if head.scene is not None:
            scenes = torch.from_numpy(np.stack([scene_descriptor(item.plan, item.index) for item in items]))
            loss = loss + scene_weight * scene_loss(head.scene(features), scenes.to(features.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        mean = ranks.average(params, loss)
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        optimizer.step()
        if on_step:
            on_step(step, mean)
    tower.eval()
