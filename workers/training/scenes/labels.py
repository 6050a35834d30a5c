"""Per-patch ground truth of a frame, as the model's square input sees it: which colour and shape covers each patch.

The frame is squashed to a square (the processor's ``resize``) and cut into a
``grid`` x ``grid`` patch grid; a patch is labelled with the object that covers
most of it (at least ``MIN_COVER``, counting partial opacity), else background.
A visible object (opacity at least ``VISIBLE``) also labels the patch it covers most,
however little: an object of 10 % of a 16:9 frame's height is about 6 x 4 pixels at
the model's 64 px, and where it straddles patch corners no patch reaches
``MIN_COVER``; without this about half of those objects had no label at all and were
taught as background.
Class 0 is background; colours and shapes follow ``spec.COLOURS``/``spec.SHAPES``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from workers.training.scenes.render import _mask
from workers.training.scenes.spec import COLOURS, SHAPES, ScenePlan, at_most

MIN_COVER = 0.25
VISIBLE = 0.5
COLOUR_CLASSES = ("background", *COLOURS)
SHAPE_CLASSES = ("background", *SHAPES)


def patch_labels(plan: ScenePlan, frame: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """(colour ids, shape ids), each a (grid, grid) int64 array, for frame ``frame`` of ``plan``."""
    small = at_most(plan, 160)
    best = np.zeros((grid, grid), dtype=np.float32)
    colours = np.zeros((grid, grid), dtype=np.int64)
    shapes = np.zeros((grid, grid), dtype=np.int64)
    for obj in small.objects:
        alpha = obj.alpha(frame)
        if alpha <= 0:
            continue
        mask, (x0, y0) = _mask(obj, obj.position(frame, small.frames), small)
        canvas = np.zeros((small.height, small.width), dtype=np.float32)
        h, w = mask.shape
        ys, xs = slice(max(0, y0), min(small.height, y0 + h)), slice(max(0, x0), min(small.width, x0 + w))
        canvas[ys, xs] = mask[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0] * alpha
        cover = np.asarray(Image.fromarray(canvas).resize((grid, grid), Image.Resampling.BOX))
        claims = cover >= MIN_COVER
        if alpha >= VISIBLE:
            claims.flat[cover.argmax()] = True
        wins = claims & (cover > best)
        best = np.where(wins, cover, best)
        colours[wins] = COLOUR_CLASSES.index(obj.colour)
        shapes[wins] = SHAPE_CLASSES.index(obj.shape)
    return colours, shapes
