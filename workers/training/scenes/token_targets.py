"""Per-token targets of a clip: which object each video token shows, and what it has done since the first frame.

The LLM sees a clip as ``frames`` blocks of ``side`` x ``side`` tokens (the projector's merged grid, row-major,
over the frame squashed to a square). A token that a visible object covers is labelled with the object's
colour and shape, and, where the frames up to its own already show it (the LLM's attention is causal, so a
token sees only its own and earlier frames), with the object's action:

* moving left/right/up/down and staying still: from frame 1 on (its position against frame 0's);
* appearing: where it is visible and was not in frame 0;
* disappearing: never (its tokens come before it is gone).

Every other entry is ``IGNORE``. A token is covered by an object when the object's bounding box covers at
least ``MIN_COVER`` of it, or holds the object's centre; of two objects the one covering more wins. The
targets are training glue (the trainer's token probe, dropped after training): they ask the LLM to work out
each object's motion at the object's own tokens, and to keep its colour and shape there.
"""
from __future__ import annotations

import numpy as np

from workers.training.scenes.render import sample_times
from workers.training.scenes.spec import COLOURS, SHAPES, ScenePlan

IGNORE = -100
TARGETS = ("moving left", "moving right", "moving up", "moving down", "staying still", "appearing")
# The columns of a token's targets, and each column's classes.
COLUMNS: dict[str, tuple[str, ...]] = {"colour": tuple(COLOURS), "shape": SHAPES, "action": TARGETS}
MIN_COVER = 0.1
VISIBLE = 0.5


def view_frames(plan: ScenePlan, count: int, *, reverse: bool) -> list[int]:
    """The frame indices, in the view's own plan, of the ``count`` stored frames as a view shows them."""
    picked = sample_times(plan, count)
    last = plan.frames - 1
    return [last - i for i in reversed(picked)] if reverse else picked


def _cover(cx: float, cy: float, hw: float, hh: float, side: int) -> np.ndarray:
    """(side, side): the share of each token's area inside the box centred at (cx, cy) of half sizes hw, hh."""
    edges = np.arange(side + 1) / side
    wx = np.clip(np.minimum(edges[1:], cx + hw) - np.maximum(edges[:-1], cx - hw), 0, None) * side
    wy = np.clip(np.minimum(edges[1:], cy + hh) - np.maximum(edges[:-1], cy - hh), 0, None) * side
    return wy[:, None] * wx[None, :]


def token_targets(seen: ScenePlan, frames: list[int], side: int) -> np.ndarray:
    """(len(frames), side * side, 3) int64 class ids of (colour, shape, action) (``COLUMNS``; ``IGNORE`` where
    none); ``seen`` is the plan of the view and ``frames`` its frame indices (:func:`view_frames`)."""
    out = np.full((len(frames), side, side, 3), IGNORE, dtype=np.int64)
    aspect = seen.height / seen.width
    for k, frame in enumerate(frames):
        best = np.zeros((side, side))
        for obj in seen.objects:
            if obj.alpha(frame) < VISIBLE:
                continue
            cx, cy = obj.position(frame, seen.frames)
            # At least a sliver, so the token holding the centre can win over an empty one.
            cover = np.maximum(_cover(cx, cy, obj.size / 2 * aspect, obj.size / 2, side), 1e-6)
            claims = cover >= MIN_COVER
            claims[min(side - 1, max(0, int(cy * side))), min(side - 1, max(0, int(cx * side)))] = True
            wins = claims & (cover > best)
            best = np.where(wins, cover, best)
            shown = k >= 1 and obj.action in TARGETS and not (
                obj.action == "appearing" and obj.alpha(frames[0]) >= VISIBLE)
            out[k][wins] = (COLUMNS["colour"].index(obj.colour), SHAPES.index(obj.shape),
                            TARGETS.index(obj.action) if shown else IGNORE)
    return out.reshape(len(frames), side * side, 3)
