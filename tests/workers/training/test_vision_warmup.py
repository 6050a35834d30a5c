"""The vision warm-up's targets and loss: object-centric, so shape and position are learned, not background."""
from __future__ import annotations

import numpy as np
import torch

from workers.training.scenes import plan_scene
from workers.training.vision_warmup import nearest_object, patch_loss


def test_every_patch_points_at_the_nearest_object():
    plan = plan_scene(21, objects=[("red", "circle"), ("blue", "square")], actions=["staying still"] * 2)
    target = nearest_object(plan, 0, 8)
    centres = [np.asarray(o.position(0, plan.frames)) * 2 - 1 for o in plan.objects]
    assert target.shape == (8, 8, 2)
    for row in range(8):
        for col in range(8):
            patch = np.array([(col + 0.5) / 8, (row + 0.5) / 8]) * 2 - 1
            best = min(centres, key=lambda c: np.linalg.norm(patch - c))
            assert np.allclose(target[row, col], best, atol=1e-5)


def test_no_object_no_target():
    plan = plan_scene(22, objects=[("green", "triangle")], actions=["appearing"])
    assert not nearest_object(plan, 0, 8).any()  # absent in the first quarter


def test_patch_loss_weighs_object_patches():
    colours = torch.zeros(64, dtype=torch.long)
    shapes = torch.zeros(64, dtype=torch.long)
    colours[10], shapes[10] = 1, 2
    good = torch.full((64, 6), -5.0)
    good[:, 0] = 5.0
    good[10] = torch.tensor([-5.0, 5.0, -5.0, -5.0, -5.0, -5.0])
    shape_good = torch.full((64, 4), -5.0)
    shape_good[:, 2] = 5.0
    shape_bad = shape_good.clone()
    shape_bad[10] = torch.tensor([-5.0, 5.0, -5.0, -5.0])
    # one wrong shape among 64 patches costs as much as a whole wrong frame would: it is not averaged away
    assert patch_loss(good, shape_bad, colours, shapes) - patch_loss(good, shape_good, colours, shapes) > 5.0
