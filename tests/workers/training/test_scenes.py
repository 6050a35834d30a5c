"""Scene generator: the issue's distribution, determinism, caption grammar and pixels."""
from __future__ import annotations

import math

import numpy as np
import pytest

from workers.training.scenes import ACTIONS, caption, plan_scene, questions, render_frame, sample_times
from workers.training.scenes.spec import MOTIONS, at_most
from workers.training.scenes.text import ordered

SEEDS = range(300)


def test_same_seed_same_scene_and_pixels():
    a, b = plan_scene(17), plan_scene(17)
    assert a == b
    assert np.array_equal(render_frame(a, 3), render_frame(b, 3))
    assert plan_scene(18) != a


@pytest.mark.parametrize("seed", SEEDS[:120])
def test_plan_follows_the_issue(seed):
    plan = plan_scene(seed)
    assert 2.0 <= plan.duration <= 8.0 and 8 <= plan.fps <= 30
    assert 160 <= plan.width <= 640 and 120 <= plan.height <= 480
    assert 4 / 3 - 0.03 <= plan.width / plan.height <= 16 / 9 + 0.03
    assert 0 <= plan.noise <= 8 / 255 and abs(plan.drift) <= 0.2
    assert 1 <= len(plan.objects) <= 2
    assert len({(o.colour, o.shape) for o in plan.objects}) == len(plan.objects)
    n = plan.frames
    for obj in plan.objects:
        assert 0.10 <= obj.size <= 0.25 and obj.action in ACTIONS
        first, last = obj.position(0, n), obj.position(n - 1, n)
        path = [obj.position(i, n) for i in range(n)]
        if obj.action in MOTIONS:
            dx, dy = MOTIONS[obj.action]
            travel = (last[0] - first[0]) * dx + (last[1] - first[1]) * dy
            assert travel >= 0.30
        else:
            spread = max(max(p[0] for p in path) - min(p[0] for p in path),
                         max(p[1] for p in path) - min(p[1] for p in path))
            assert spread < 0.03
        present = [obj.alpha(i) > 0 for i in range(n)]
        if obj.action == "appearing":
            assert not any(present[: math.ceil(n / 4)]) and all(present[math.ceil(n / 2):])
        elif obj.action == "disappearing":
            assert all(present[: math.ceil(n / 2)]) and not any(present[math.ceil(3 * n / 4):])
        else:
            assert all(present)


def test_every_action_and_both_counts_occur():
    plans = [plan_scene(s) for s in SEEDS]
    assert {o.action for p in plans for o in p.objects} == set(ACTIONS)
    assert {len(p.objects) for p in plans} == {1, 2}


def test_caption_grammar_and_left_to_right_order():
    plan = plan_scene(5, objects=[("blue", "square"), ("red", "circle")], actions=["staying still", "moving left"])
    left, right = ordered(plan)
    assert left.position(0, plan.frames)[0] < right.position(0, plan.frames)[0]
    clauses = {"blue square": "a blue square stays still", "red circle": "a red circle moves left"}
    assert caption(plan) == f"{clauses[left.name]} and {clauses[right.name]}"
    single = plan_scene(6, objects=[("green", "triangle")], actions=["appearing"])
    assert caption(single) == "a green triangle appears"


def test_questions_have_unique_answers():
    plan = plan_scene(7, objects=[("red", "circle"), ("red", "square")], actions=["moving up", "disappearing"])
    asked = dict(questions(plan))
    assert asked["How many objects are there?"] == "two"
    assert asked["What colour is the circle?"] == "red"
    assert "What shape is the red object?" not in asked  # two red objects: no single answer
    assert asked["What is the red square doing?"] == "disappearing"


def test_pixels_show_the_object_moving_left():
    plan = plan_scene(11, objects=[("red", "circle")], actions=["moving left"], drift=0.0)
    xs = []
    for i in sample_times(plan, 4):
        frame = render_frame(plan, i).astype(int)
        red = (frame[..., 0] > 150) & (frame[..., 1] < 100) & (frame[..., 2] < 100)
        assert red.sum() > 0
        xs.append(np.nonzero(red)[1].mean() / plan.width)
    assert xs == sorted(xs, reverse=True) and xs[0] - xs[-1] > 0.2


def test_drift_changes_brightness_only():
    plan = plan_scene(12, objects=[("white", "square")], actions=["staying still"], drift=0.2)
    first, last = render_frame(plan, 0).astype(float), render_frame(plan, plan.frames - 1).astype(float)
    assert last.mean() > first.mean() * 1.1


def test_sample_times_match_ingest_slot_centres():
    plan = plan_scene(3)
    picked = sample_times(plan, 4)
    duration = plan.frames / plan.fps
    assert picked == sorted(picked) and len(picked) == 4
    for k, index in enumerate(picked):
        assert abs(index / plan.fps - (k + 0.5) * duration / 4) <= 0.5 / plan.fps + 1e-9


def test_smaller_render_is_the_same_scene():
    plan = plan_scene(4)
    small = at_most(plan, 160)
    assert max(small.width, small.height) <= 160 and small.objects == plan.objects
    assert caption(small) == caption(plan)


def test_patch_labels_mark_the_object_where_the_model_sees_it():
    from workers.training.scenes.labels import COLOUR_CLASSES, SHAPE_CLASSES, patch_labels

    plan = plan_scene(13, objects=[("green", "square")], actions=["moving right"])
    obj = plan.objects[0]
    colours, shapes = patch_labels(plan, 0, 8)
    rows, cols = np.nonzero(colours)
    assert len(rows) >= 1 and set(colours[rows, cols]) == {COLOUR_CLASSES.index("green")}
    assert set(shapes[rows, cols]) == {SHAPE_CLASSES.index("square")}
    x, y = obj.position(0, plan.frames)
    assert abs(cols.mean() + 0.5 - x * 8) <= 1.0 and abs(rows.mean() + 0.5 - y * 8) <= 1.0
    late = patch_labels(plan, plan.frames - 1, 8)[0]
    assert np.nonzero(late)[1].mean() > cols.mean() + 1  # moved right by more than a patch


def test_default_action_labels_are_the_scene_actions():
    # analyze, the dispatcher and the worker score these by default: the embedded model's own vocabulary
    from services.core.labels import DEFAULT_ACTION_LABELS
    from workers.training.scenes.spec import ACTIONS
    assert DEFAULT_ACTION_LABELS == ACTIONS
