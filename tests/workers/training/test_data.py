"""LLaVA-style datasets: what the scene writer produces is what the reader reads."""
from __future__ import annotations

import json

import pytest

from services.core.errors import InvalidInput
from workers.training.data import load_frames, read_dataset
from workers.training.scenes import caption, plan_scene
from workers.training.scenes.dataset import ACTION_QUESTION, main_action, write_datasets
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
