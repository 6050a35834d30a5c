"""LLaVA-style datasets: what the scene writer produces is what the reader reads."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInput
from workers.training.data import load_frames, read_dataset
from workers.training.scenes import caption, plan_scene
from workers.training.scenes.dataset import ACTION_QUESTION, main_action, views_of, write_datasets
from workers.training.scenes.spec import ACTIONS
from workers.training.scenes.video import write_clip


def test_writer_and_reader_agree(tmp_path):
    jobs = [(100, {"count": 1}), (101, {"objects": [["red", "circle"], ["blue", "square"]]})]
    paths = write_datasets(tmp_path, jobs, frames=4, image_size=32, max_side=160, workers=1)
    videos = read_dataset(paths["video_text"])
    assert [s.id for s in videos] == ["00000100-v", "00000101-v"]
    assert videos[1].turns[0][1] == caption(plan_scene(101, objects=[["red", "circle"], ["blue", "square"]]))
    frames = load_frames(videos[0], 4)
    assert len(frames) == 4 and frames[0].size == (32, 32)
    images = read_dataset(paths["image_text"])
    assert len(images[0].frames) == 1 and images[0].turns[0][0] == "What objects are in this image?"
    convs = read_dataset(paths["conversations"])
    questions = dict(convs[1].turns)
    plan = plan_scene(101, objects=[["red", "circle"], ["blue", "square"]])
    assert questions[ACTION_QUESTION.format(options=", ".join(ACTIONS))] == main_action(plan)
    assert all("<video>" not in q for q, _ in convs[1].turns)
    raw = json.loads(paths["conversations"].read_text())
    assert raw[0]["conversations"][0]["value"].startswith("<video>\n")
    assert raw[0]["conversations"][1]["from"] == "gpt"


def test_video_file_records_are_sampled_like_ingest(tmp_path):
    plan = plan_scene(7, objects=[["yellow", "triangle"]], actions=["moving right"])
    write_clip(plan, tmp_path / "clip.mp4")
    (tmp_path / "d.json").write_text(json.dumps([{"id": "x", "video": "clip.mp4", "conversations": [
        {"from": "human", "value": "<video>\nWhat happens?"}, {"from": "gpt", "value": caption(plan)}]}]))
    [sample] = read_dataset(tmp_path / "d.json")
    frames = load_frames(sample, 4)
    assert len(frames) == 4 and frames[0].size == (plan.width, plan.height)


@pytest.mark.parametrize("content, message", [
    ("{", "not a readable JSON dataset"),
    ('{"a": 1}', "a dataset is a JSON list"),
    ('[{"id": 1, "conversations": []}]', "at least one human/gpt pair"),
    ('[{"image": "missing.png", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]',
     "does not exist"),
])
def test_bad_datasets_name_the_problem(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(InvalidInput, match=message):
        read_dataset(tmp_path / "bad.json")


def test_views_are_records_of_the_same_frames_that_describe_what_the_view_shows(tmp_path):
    from workers.training.scenes.spec import mirrored, reversed_plan

    objects, actions = [["red", "circle"], ["blue", "square"]], ["moving left", "staying still"]
    jobs = [(101, {"objects": objects, "actions": actions})]
    plain = write_datasets(tmp_path / "plain", jobs, frames=4, image_size=32, max_side=160, workers=1)
    paths = write_datasets(tmp_path / "views", jobs, frames=4, image_size=32, max_side=160, workers=1,
                           views=("mirror", "reverse"))
    plan = plan_scene(101, objects=objects, actions=actions)
    videos = {s.id: s for s in read_dataset(paths["video_text"])}
    assert set(videos) == {"00000101-v", "00000101-v-mirror", "00000101-v-reverse", "00000101-v-mirror-reverse"}
    assert (videos["00000101-v-mirror"].mirror, videos["00000101-v-mirror"].reverse) == (True, False)
    assert videos["00000101-v-mirror"].turns[0][1] == caption(mirrored(plan))
    assert videos["00000101-v-reverse"].turns[0][1] == caption(reversed_plan(plan))
    assert "moves right" in videos["00000101-v-reverse"].turns[0][1]
    assert all(s.frames == videos["00000101-v"].frames for s in videos.values())
    # the stored view's records are what a run without views writes
    for kind in ("image_text", "video_text", "conversations"):
        stored = [r for r in json.loads(paths[kind].read_text()) if "mirror" not in r and "reverse" not in r]
        assert stored == json.loads(plain[kind].read_text())
    images = read_dataset(paths["image_text"])
    assert [s.mirror for s in images] == [False, True]  # a single frame has no direction of time
    # seed 102: played backwards the circle ends beside the square, too close to order: no reversed views
    close = plan_scene(102, objects=objects, actions=actions)
    assert [flags for flags, _ in views_of(close, ("mirror", "reverse"))] == [{}, {"mirror": True}]

    sample = videos["00000101-v-mirror-reverse"]
    stored = load_frames(videos["00000101-v"], 4)
    shown = load_frames(sample, 4)
    assert all(np.array_equal(np.asarray(a), np.asarray(b.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
               for a, b in zip(shown, stored[::-1]))


@pytest.mark.parametrize("flags, message", [
    ({"mirror": "yes"}, "'mirror' must be true or false"),
    ({"reverse": 1}, "'reverse' must be true or false"),
])
def test_bad_view_flags_name_the_problem(tmp_path, flags, message):
    record = {"id": "x", **flags, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    (tmp_path / "bad.json").write_text(json.dumps([record]))
    with pytest.raises(InvalidInput, match=message):
        read_dataset(tmp_path / "bad.json")
    record["reverse"] = record["mirror"] = True
    (tmp_path / "bad.json").write_text(json.dumps([record]))
    with pytest.raises(InvalidInput, match="needs an image or a video"):
        read_dataset(tmp_path / "bad.json")
