"""The words for a :class:`ScenePlan`: the canonical caption and question/answer pairs.

Caption grammar: one clause per object, ``a <colour> <shape> <verb>`` with verbs
``moves left|right|up|down``, ``stays still``, ``appears``, ``disappears``; two
clauses are joined by `` and ``, objects ordered left to right by their horizontal
position in the first frame where both are visible.
"""
from __future__ import annotations

import random

from workers.training.scenes.spec import COLOURS, SHAPES, ObjectPlan, ScenePlan, both_visible_frame

VERBS = {
    "moving left": "moves left", "moving right": "moves right", "moving up": "moves up",
    "moving down": "moves down", "staying still": "stays still", "appearing": "appears",
    "disappearing": "disappears",
}
COUNTS = {1: "one", 2: "two"}
CAPTION_PROMPTS = (
    "Describe what happens in this video in one sentence.",
    "What happens in this video?",
)


def ordered(plan: ScenePlan) -> list[ObjectPlan]:
    """Objects in caption order (left to right where both are first visible)."""
    if len(plan.objects) < 2:
        return list(plan.objects)
    i = both_visible_frame(plan)
    if i is None:  # never together: each at its own first visible frame
        return sorted(plan.objects, key=lambda o: o.position(o.appear, plan.frames)[0])
    return sorted(plan.objects, key=lambda o: o.position(i, plan.frames)[0])


def clause(obj: ObjectPlan) -> str:
    return f"a {obj.colour} {obj.shape} {VERBS[obj.action]}"


def caption(plan: ScenePlan) -> str:
    """The canonical caption of ``plan``."""
    return " and ".join(clause(o) for o in ordered(plan))


def questions(plan: ScenePlan, rng: random.Random | None = None) -> list[tuple[str, str]]:
    """Every question type that has one well-defined answer for ``plan``, as (question, answer).

    Colour of a shape and shape of a colour are asked only when unique in the scene.
    """
    pairs: list[tuple[str, str]] = [("How many objects are there?", COUNTS[len(plan.objects)])]
    for obj in ordered(plan):
        if sum(o.shape == obj.shape for o in plan.objects) == 1:
            pairs.append((f"What colour is the {obj.shape}?", obj.colour))
        if sum(o.colour == obj.colour for o in plan.objects) == 1:
            pairs.append((f"What shape is the {obj.colour} object?", obj.shape))
        pairs.append((f"What is the {obj.colour} {obj.shape} doing?", obj.action))
    if rng is not None:
        rng.shuffle(pairs)
    return pairs


def vocabulary() -> list[str]:
    """Every word the captions, questions and answers use (for the tokenizer)."""
    words = set(COLOURS) | set(SHAPES) | {"a", "and", "object", "objects", "one", "two"}
    for text in list(VERBS) + list(VERBS.values()) + list(CAPTION_PROMPTS):
        words.update(text.rstrip(".?").lower().split())
    for text in ("How many objects are there?", "What colour is the", "What shape is the", "What is the doing?"):
        words.update(text.rstrip(".?").lower().split())
    return sorted(words)
