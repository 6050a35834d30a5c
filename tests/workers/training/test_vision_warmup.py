"""The vision warm-up's targets and loss: object-centric, so shape and position are learned, not background."""
from __future__ import annotations

import numpy as np
import torch

from workers.training.scenes import plan_scene
from workers.training.scenes.spec import OBJECTS
from workers.training.vision_warmup import nearest_object, patch_loss, scene_descriptor, scene_loss


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


def test_scene_descriptor_names_the_visible_objects_and_their_centres():
    plan = plan_scene(23, objects=[("red", "circle"), ("blue", "square")], actions=["moving left", "appearing"])
    first = scene_descriptor(plan, 0)  # the blue square appears later
    red, blue = OBJECTS.index(("red", "circle")), OBJECTS.index(("blue", "square"))
    assert first.shape == (len(OBJECTS), 3)
    assert first[:, 0].tolist() == [1.0 if i == red else 0.0 for i in range(len(OBJECTS))]
    assert np.allclose(first[red, 1:], np.asarray(plan.objects[0].position(0, plan.frames)) * 2 - 1)
    last = scene_descriptor(plan, plan.frames - 1)
    assert last[red, 1] < first[red, 1] and last[blue, 0] == 1.0


def test_scene_loss_is_lowest_at_the_target():
    plan = plan_scene(24, count=2)
    target = torch.from_numpy(scene_descriptor(plan, 0))[None]
    right = target.clone()
    right[..., 0] = right[..., 0] * 20 - 10  # confident logits for presence
    wrong = right.clone()
    wrong[..., 0] = -wrong[..., 0]
    tokens = lambda t: t.reshape(1, 1, -1).expand(1, 4, -1)  # noqa: E731 - every token says the same
    assert scene_loss(tokens(right), target) < 0.01 < 1.0 < scene_loss(tokens(wrong), target)


def test_gain_scales_each_frames_brightness_and_clips():
    from workers.training.vision_warmup import with_gains

    pixels = np.array([[[[100, 200, 250]]], [[[100, 200, 250]]]], dtype=np.uint8)
    scaled = with_gains(pixels, np.array([1.2, 0.8]))
    assert scaled.dtype == np.uint8
    assert scaled.tolist() == [[[[120, 240, 255]]], [[[80, 160, 200]]]]


def test_a_mirrored_warmup_frame_flips_pixels_and_targets():
    from workers.training.scenes.spec import mirrored
    from workers.training.vision_warmup import WarmupFrame, frame_targets

    plan = plan_scene(23, objects=[("red", "circle"), ("blue", "triangle")], actions=["moving right", "staying still"])
    pixels = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    frame = WarmupFrame.of(pixels, plan, 0, 8)
    twin = frame.mirror()
    assert np.array_equal(twin.pixels, pixels[:, ::-1])
    colours, shapes, near = frame_targets(mirrored(plan), 0, 8)  # the mirrored scene's own targets
    assert (twin.targets[0] == colours).mean() > 0.95 and (twin.targets[1] == shapes).mean() > 0.95
    assert np.allclose(twin.targets[2], near, atol=0.02)
    assert twin.plan == mirrored(plan) and frame.targets[0].any()
