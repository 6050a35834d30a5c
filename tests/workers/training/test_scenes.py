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


def test_patch_labels_keep_an_object_too_small_to_cover_a_patch():
    # 10 % of a 16:9 frame's height, centred on a patch corner: no patch is a quarter covered, yet the
    # object must label the patch it covers most rather than be taught as background
    from dataclasses import replace

    from workers.training.scenes.labels import COLOUR_CLASSES, MIN_COVER, SHAPE_CLASSES, patch_labels

    plan = plan_scene(13, objects=[("red", "triangle")], actions=["staying still"])
    plan = replace(plan, width=640, height=360)
    plan = replace(plan, objects=(replace(plan.objects[0], size=0.10, start=(0.25, 0.25), end=(0.25, 0.25),
                                          wobble=0.0, orientation=0),))
    assert 0.10 * 0.10 * 16 / 9 * 64 * 0.5 < MIN_COVER * 64  # the object's area is under a quarter patch
    colours, shapes = patch_labels(plan, 0, 8)
    rows, cols = np.nonzero(colours)
    assert len(rows) == 1 and colours[rows[0], cols[0]] == COLOUR_CLASSES.index("red")
    assert shapes[rows[0], cols[0]] == SHAPE_CLASSES.index("triangle")
    assert rows[0] in (1, 2) and cols[0] in (1, 2)  # one of the four patches around the corner


def test_default_action_labels_are_the_scene_actions():
    # analyze, the dispatcher and the worker score these by default: the embedded model's own vocabulary
    from core.labels import DEFAULT_ACTION_LABELS
    from workers.training.scenes.spec import ACTIONS
    assert DEFAULT_ACTION_LABELS == ACTIONS


@pytest.mark.parametrize("seed", SEEDS[:60])
def test_a_reversed_scene_shows_the_frames_backwards(seed):
    from workers.training.scenes.spec import reversed_plan

    plan = plan_scene(seed)
    back, last = reversed_plan(plan), plan.frames - 1
    for obj, rev in zip(plan.objects, back.objects):
        for i in range(plan.frames):
            assert np.allclose(obj.position(i, plan.frames), rev.position(last - i, plan.frames), atol=1e-9)
            assert math.isclose(obj.alpha(i), rev.alpha(last - i), abs_tol=1e-9)
            assert obj.visible(i) == rev.visible(last - i)
    for i in (0, last):  # the brightness relative to the first frame
        assert math.isclose(back.brightness(i), plan.brightness(last - i) / plan.brightness(last), abs_tol=1e-9)


@pytest.mark.parametrize("seed", SEEDS[:60])
def test_a_mirrored_scene_is_flipped_left_to_right(seed):
    from workers.training.scenes.spec import mirrored

    plan = plan_scene(seed)
    flipped = mirrored(plan)
    for obj, mir in zip(plan.objects, flipped.objects):
        for i in range(plan.frames):
            (x, y), (mx, my) = obj.position(i, plan.frames), mir.position(i, plan.frames)
            assert abs(x - (1 - mx)) < 1e-9 and abs(y - my) <= 0.01  # a still object's wobble keeps its sign
        assert (mir.colour, mir.shape, mir.size) == (obj.colour, obj.shape, obj.size)


def test_views_describe_what_they_show():
    from workers.training.scenes.spec import mirrored, reversed_plan

    plan = plan_scene(31, objects=[("red", "circle"), ("blue", "square")], actions=["moving left", "appearing"])
    assert [o.action for o in mirrored(plan).objects] == ["moving right", "appearing"]
    assert [o.action for o in reversed_plan(plan).objects] == ["moving right", "disappearing"]
    assert [o.action for o in reversed_plan(mirrored(plan)).objects] == ["moving left", "disappearing"]
    assert [o.name for o in ordered(mirrored(plan))] == [o.name for o in ordered(plan)][::-1]
    assert caption(mirrored(plan)).startswith(f"a {ordered(plan)[1].name} ")


def test_a_mirrored_frame_is_the_mirror_image():
    from workers.training.scenes.spec import mirrored

    plan = plan_scene(32, objects=[("yellow", "square")], actions=["moving right"], drift=0.0)
    frame = render_frame(plan, 0).astype(int)
    twin = render_frame(mirrored(plan), 0).astype(int)
    yellow = lambda f: (f[..., 0] > 150) & (f[..., 1] > 150) & (f[..., 2] < 100)  # noqa: E731
    assert yellow(frame).sum() > 0
    assert (yellow(frame[:, ::-1]) != yellow(twin)).mean() < 0.01
