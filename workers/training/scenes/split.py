"""The train/held-out split of the synthetic scenes: seed ranges and object pairs.

Training seeds and evaluation seeds come from disjoint ranges; a fixed set of
object pairs (two objects that appear together) never appears in training, so
evaluation can include combinations the model never saw together.
"""
from __future__ import annotations

import itertools
import random

from workers.training.scenes.spec import OBJECTS, STILL_ACTIONS

TRAIN_SEEDS = 1_000_000
CROWD_SEEDS = 600_000_000
EVAL_SEEDS = 900_000_000
Pair = tuple[tuple[str, str], tuple[str, str]]


def all_pairs() -> list[Pair]:
    return list(itertools.combinations(OBJECTS, 2))


def held_out_pairs(count: int, seed: int = 0) -> set[Pair]:
    """``count`` unordered object pairs kept out of training (deterministic for ``seed``)."""
    pairs = all_pairs()
    random.Random(f"held-out-{seed}").shuffle(pairs)
    return {tuple(sorted(p)) for p in pairs[:count]}


def is_held_out(a, b, held: set[Pair]) -> bool:
    return tuple(sorted((tuple(a), tuple(b)))) in held


def training_jobs(count: int, *, seed: int, two_object_share: float, held: set[Pair],
                  still_share: float = 0.0) -> list[tuple[int, dict]]:
    """``count`` (scene seed, plan options) for training: seeds from the training range, no held-out pair.

    A ``still_share`` of the clips are hard negatives for motion: nothing moves (each object stays still,
    appears or disappears) under a strong brightness drift (10-20 %), which must not read as motion.
    """
    allowed = [p for p in all_pairs() if tuple(sorted(p)) not in held]
    jobs = []
    for i in range(count):
        scene_seed = TRAIN_SEEDS + seed * 10_000_000 + i
        rng = random.Random(scene_seed)
        if rng.random() < two_object_share:
            pair = list(rng.choice(allowed))
            rng.shuffle(pair)
            options: dict = {"objects": [list(o) for o in pair]}
        else:
            options = {"count": 1}
        if still_share and rng.random() < still_share:
            options = still_scene(rng, options.get("objects") or [list(rng.choice(OBJECTS))], 0.10, 0.20)
        jobs.append((scene_seed, options))
    return jobs


def crowded_jobs(count: int, *, seed: int, held: set[Pair],
                 objects: tuple[int, int] = (3, 5)) -> list[tuple[int, dict]]:
    """``count`` (scene seed, plan options) of crowded frames for the vision warm-up alone: ``objects`` (at
    least, at most) still objects apart from each other, no two of them a held-out pair (the evaluation's
    unseen combinations stay unseen by the tower too)."""
    jobs = []
    for i in range(count):
        scene_seed = CROWD_SEEDS + seed * 1_000_000 + i
        rng = random.Random(scene_seed)
        n, chosen = rng.randint(*objects), []
        for obj in rng.sample(OBJECTS, len(OBJECTS)):
            if len(chosen) < n and not any(is_held_out(obj, other, held) for other in chosen):
                chosen.append(obj)
        jobs.append((scene_seed, {"objects": [list(o) for o in chosen],
                                  "actions": ["staying still"] * len(chosen)}))
    return jobs


def still_scene(rng: random.Random, objects: list[list[str]], min_drift: float, max_drift: float) -> dict:
    """Plan options for ``objects`` of which none moves (each stays still, or 40 % of the time appears or
    disappears) under a brightness drift of ``min_drift``..``max_drift`` either way: the training's hard
    negatives and the evaluation's drift clips."""
    return {"objects": objects,
            "actions": [rng.choice(STILL_ACTIONS) if rng.random() < 0.4 else "staying still" for _ in objects],
            "drift": rng.choice([-1, 1]) * rng.uniform(min_drift, max_drift)}
