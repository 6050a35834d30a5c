"""Pixels of a :class:`ScenePlan`: frames as (H, W, 3) uint8 arrays, deterministic per (plan, frame).

The background (grey level plus texture) is drawn once per plan; every frame adds
the objects (alpha-blended, so fades work), applies the brightness drift to the
whole image (auto-exposure acts on everything) and adds Gaussian sensor noise
seeded by (plan seed, frame index).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from workers.training.scenes.spec import ObjectPlan, ScenePlan


@lru_cache(maxsize=8)
def _background(plan: ScenePlan) -> np.ndarray:
    rng = np.random.default_rng([plan.seed, 1])
    h, w = plan.height, plan.width
    base = np.full((h, w), plan.grey / 255.0, dtype=np.float32)
    if plan.texture == "blobs":
        cells = rng.uniform(-1, 1, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)))).astype(np.float32)
        image = Image.fromarray(cells).resize((w, h), Image.Resampling.BICUBIC)
        base += plan.texture_amp * np.clip(np.asarray(image, dtype=np.float32), -1.5, 1.5)
    elif plan.texture == "stripes":
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.05, 0.3) * h
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base += plan.texture_amp * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    return np.repeat(base[:, :, None], 3, axis=2)


def _mask(obj: ObjectPlan, centre: tuple[float, float], plan: ScenePlan) -> tuple[np.ndarray, tuple[int, int]]:
    """Anti-aliased (4x supersampled) coverage of ``obj`` in its bounding box, and the box's top-left corner."""
    side = obj.size * plan.height
    cx, cy = centre[0] * plan.width, centre[1] * plan.height
    x0, y0 = int(np.floor(cx - side / 2)) - 1, int(np.floor(cy - side / 2)) - 1
    box = int(np.ceil(side)) + 3
    ss = 4
    canvas = Image.new("L", (box * ss, box * ss), 0)
    draw = ImageDraw.Draw(canvas)
    lx, ly = (cx - x0) * ss, (cy - y0) * ss
    r = side / 2 * ss
    if obj.shape == "circle":
        draw.ellipse([lx - r, ly - r, lx + r, ly + r], fill=255)
    elif obj.shape == "square":
        draw.rectangle([lx - r, ly - r, lx + r, ly + r], fill=255)
    else:
        points = [(lx, ly - r), (lx + r, ly + r), (lx - r, ly + r)]  # pointing up
        for _ in range(obj.orientation):  # quarter turns clockwise about the centre
            points = [(lx - (py - ly), ly + (px - lx)) for px, py in points]
        draw.polygon(points, fill=255)
    small = canvas.resize((box, box), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0, (x0, y0)


def render_frame(plan: ScenePlan, i: int) -> np.ndarray:
    """Frame ``i`` (0-based) of ``plan`` as an (H, W, 3) uint8 array."""
    image = _background(plan).copy()
    for obj in plan.objects:
        alpha = obj.alpha(i)
        if alpha <= 0:
            continue
        mask, (x0, y0) = _mask(obj, obj.position(i, plan.frames), plan)
        h, w = mask.shape
        ys, xs = slice(max(0, y0), min(plan.height, y0 + h)), slice(max(0, x0), min(plan.width, x0 + w))
        part = mask[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0, None] * alpha
        colour = np.asarray(obj.rgb, dtype=np.float32) / 255.0
        image[ys, xs] = image[ys, xs] * (1 - part) + colour * part
    image *= plan.brightness(i)
    if plan.noise > 0:
        rng = np.random.default_rng([plan.seed, 2, i])
        image += rng.standard_normal(image.shape, dtype=np.float32) * plan.noise
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def sample_times(plan: ScenePlan, count: int) -> list[int]:
    """Frame indices the ingest stage picks for one window spanning the clip.

    Slot centres ``(k + 0.5) / count`` of the clip, each served by the nearest
    frame (ties to the earlier one), each frame used once — what
    ``ingest.sampler`` does for ``frames_per_window = count``.
    """
    indices: list[int] = []
    for k in range(count):
        t = (k + 0.5) * (plan.frames / plan.fps) / count
        nearest = min(plan.frames - 1, max(0, int(np.floor(t * plan.fps + 0.5 - 1e-9))))
        if nearest not in indices:
            indices.append(nearest)
    return indices
