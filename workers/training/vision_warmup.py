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
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from workers.runtime.model import VilaModel
from workers.training.scenes.labels import COLOUR_CLASSES, SHAPE_CLASSES, patch_labels
from workers.training.scenes.spec import ScenePlan


class PatchHead(nn.Module):
    """Linear colour and shape logits, and the nearest object's centre, per vision token."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.colour = nn.Linear(width, len(COLOUR_CLASSES))
        self.shape = nn.Linear(width, len(SHAPE_CLASSES))
        self.where = nn.Linear(width, 2)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.colour(features), self.shape(features), self.where(features)


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


FrameSource = Callable[[random.Random, int], list[tuple[Image.Image, ScenePlan, int]]]


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


def warm_up_tower(model: VilaModel, frames: FrameSource, *, steps: int, batch: int, lr: float,
                  seed: int, on_step: Callable[[int, float], None] | None = None) -> None:
    """Train ``model.tower`` (in place) with the patch head for ``steps`` steps of ``batch`` frames.

    ``frames(rng, n)`` returns n (model-size image, its plan, its frame index).
    """
    tower = model.tower
    grid = int(round(tower.num_tokens ** 0.5))
    if grid * grid != tower.num_tokens:
        raise ValueError("the vision warm-up needs a square patch grid without a CLS token")
    head = PatchHead(tower.hidden_size)
    params = list(tower.parameters()) + list(head.parameters())
    for p in tower.parameters():
        p.requires_grad_(True)
    tower.train()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 30) * (0.1 + 0.9 * (1 - step / steps))
        rng = random.Random(f"{seed}-vision-{step}")
        items = frames(rng, batch)
        pixels = model.processor([image for image, _, _ in items]).to(model.device, model.dtype)
        labels = [patch_labels(plan, index, grid) for _, plan, index in items]
        colours = torch.from_numpy(np.stack([c for c, _ in labels])).reshape(-1)
        shapes = torch.from_numpy(np.stack([s for _, s in labels])).reshape(-1)
        colour_logits, shape_logits, where = head(tower(pixels))
        loss = patch_loss(colour_logits, shape_logits, colours, shapes)
        near = torch.from_numpy(np.stack([nearest_object(plan, index, grid) for _, plan, index in items]))
        loss = loss + nn.functional.mse_loss(where, near.reshape(where.shape).to(where.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        if on_step:
            on_step(step, loss.item())
    tower.eval()
