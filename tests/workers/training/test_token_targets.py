"""Per-token targets: an object's colour and shape on the tokens it covers, its action only once the frames
show it."""
from __future__ import annotations

import numpy as np

from workers.training.scenes import plan_scene
from workers.training.scenes.spec import view_plan
from workers.training.scenes.token_targets import COLUMNS, IGNORE, TARGETS, token_targets, view_frames

SIDE = 4


def _all(plan, *, mirror=False, reverse=False):
    return token_targets(view_plan(plan, mirror=mirror, reverse=reverse), view_frames(plan, 4, reverse=reverse), SIDE)


def _targets(plan, **view):
    """The action column."""
    return _all(plan, **view)[..., 2]


def _centre_token(plan, obj, frame):
    x, y = obj.position(frame, plan.frames)
    return min(SIDE - 1, int(y * SIDE)) * SIDE + min(SIDE - 1, int(x * SIDE))


def test_a_moving_object_is_labelled_where_it_is_from_the_second_frame_on():
    plan = plan_scene(5, objects=[("red", "circle")], actions=["moving left"])
    obj, frames = plan.objects[0], view_frames(plan, 4, reverse=False)
    t = _targets(plan)
    assert (t[0] == IGNORE).all()  # frame 0 cannot know what happens next
    for k in range(1, 4):
        assert t[k, _centre_token(plan, obj, frames[k])] == TARGETS.index("moving left")
        assert set(t[k][t[k] != IGNORE]) == {TARGETS.index("moving left")}
    # The token under the object moves left with it.
    assert _centre_token(plan, obj, frames[3]) % SIDE < _centre_token(plan, obj, frames[1]) % SIDE


def test_views_label_what_they_show():
    plan = plan_scene(5, objects=[("red", "circle")], actions=["moving left"])
    mirrored = _targets(plan, mirror=True)
    assert set(mirrored[1:][mirrored[1:] != IGNORE]) == {TARGETS.index("moving right")}
    # Mirrored: the same tokens, columns flipped.
    plain = _targets(plan)
    assert np.array_equal(plain.reshape(4, SIDE, SIDE)[1:] != IGNORE,
                          (mirrored.reshape(4, SIDE, SIDE)[1:] != IGNORE)[:, :, ::-1])
    backwards = _targets(plan, reverse=True)
    assert set(backwards[1:][backwards[1:] != IGNORE]) == {TARGETS.index("moving right")}


def test_appearing_is_labelled_once_visible_and_disappearing_never():
    appear = plan_scene(9, objects=[("blue", "square")], actions=["appearing"])
    t = _targets(appear)
    assert (t[0] == IGNORE).all() and (t[-1] == TARGETS.index("appearing")).any()
    vanish = plan_scene(9, objects=[("blue", "square")], actions=["disappearing"])
    assert (_targets(vanish) == IGNORE).all()
    # Played backwards, the disappearing square appears.
    assert (_targets(vanish, reverse=True)[-1] == TARGETS.index("appearing")).any()


def test_colour_and_shape_label_every_frame_the_object_is_in():
    plan = plan_scene(5, objects=[("red", "circle")], actions=["moving left"])
    t = _all(plan)
    covered = t[..., 0] != IGNORE
    assert covered[0].any() and np.array_equal(covered, t[..., 1] != IGNORE)
    assert set(t[..., 0][covered]) == {COLUMNS["colour"].index("red")}
    assert set(t[..., 1][covered]) == {COLUMNS["shape"].index("circle")}
    # Action only where colour and shape are, and not in frame 0.
    assert not (t[..., 2] != IGNORE)[~covered].any() and (t[0, :, 2] == IGNORE).all()
    vanish = plan_scene(9, objects=[("blue", "square")], actions=["disappearing"])
    assert (_all(vanish)[0, :, 0] == COLUMNS["colour"].index("blue")).any()


def test_two_objects_each_get_their_own_action():
    plan = plan_scene(11, objects=[("red", "circle"), ("green", "triangle")], actions=["moving up", "staying still"])
    frames = view_frames(plan, 4, reverse=False)
    t = _targets(plan)
    for obj in plan.objects:
        assert t[2, _centre_token(plan, obj, frames[2])] == TARGETS.index(obj.action)
