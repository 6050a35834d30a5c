"""The shipped default model (tiny-synthetic-v1) end to end: what it says about generated clips.

These clips come from the scene generator with evaluation seeds (never used in
training), are encoded to H.264 and go through the real ``vila-stream analyze``
(decode, sampling, JPEG, the loader, the runtime) with the default model.
"""
from __future__ import annotations

import json

import pytest

from workers.runtime import load_model
from workers.runtime.default import SHIPPED_MODEL, default_model_path
from workers.training.scenes import plan_scene
from workers.training.scenes.split import EVAL_SEEDS
from workers.training.scenes.video import write_clip

pytestmark = pytest.mark.slow

MAX_BYTES = 25 * 1024 * 1024


def test_shipped_checkpoint_is_the_default_small_and_documented():
    assert default_model_path() == SHIPPED_MODEL
    files = [p for p in SHIPPED_MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES
    for name in ("config.json", "recipe.json", "training.json", "eval/report.json", "eval/report.md",
                 "eval/confusion.png", "loss_curves.png"):
        assert (SHIPPED_MODEL / name).is_file(), name
    report = json.loads((SHIPPED_MODEL / "eval" / "report.json").read_text())
    assert report["clips"] == 500 and report["passed"] is True
    assert load_model(SHIPPED_MODEL).info.model_id == "tiny-synthetic-v1"


def test_red_circle_moving_left_is_in_the_timeline(cli, tmp_path):
    plan = plan_scene(EVAL_SEEDS + 777, objects=[("red", "circle")], actions=["moving left"])
    clip = write_clip(plan, tmp_path / "red-circle.mp4")
    run = cli("analyze", clip)
    assert run.returncode == 0, run.stderr
    data = run.json
    assert data["model"] == "tiny-synthetic-v1"
    [window] = data["windows"]
    assert window["caption"] == "a red circle moves left"
    assert window["actions"][0]["label"] == "moving left"
    assert data["segments"][0]["caption"] == "a red circle moves left"
    assert "a red circle moves left" in run.stdout


def test_two_objects_are_named_left_to_right(cli, tmp_path):
    plan = plan_scene(EVAL_SEEDS + 778, objects=[("blue", "square"), ("yellow", "triangle")],
                      actions=["staying still", "moving up"])
    clip = write_clip(plan, tmp_path / "two.mp4")
    run = cli("analyze", clip)
    assert run.returncode == 0, run.stderr
    from workers.training.scenes import caption

    assert run.json["windows"][0]["caption"] == caption(plan)
    assert run.json["windows"][0]["actions"][0]["label"] == "moving up"


def test_brightness_drift_alone_is_not_motion(cli, tmp_path):
    plan = plan_scene(EVAL_SEEDS + 779, objects=[("white", "circle")], actions=["staying still"], drift=0.2)
    clip = write_clip(plan, tmp_path / "drift.mp4")
    run = cli("analyze", clip)
    assert run.returncode == 0, run.stderr
    window = run.json["windows"][0]
    assert window["caption"] == "a white circle stays still"
    assert window["actions"][0]["label"] == "staying still"


def test_eval_command_reports_json(cli, tmp_path):
    run = cli("eval", "--suite", "synthetic", "--clips", "8", "--json", "--out", tmp_path / "ev")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["clips"] == 8 and report["model"] == "tiny-synthetic-v1"
    assert report["single_all_correct"] is not None and report["action_top1"] >= 0.75
    assert (tmp_path / "ev" / "confusion.png").stat().st_size > 1000
    assert json.loads((tmp_path / "ev" / "report.json").read_text())["clips"] == 8


def test_bad_eval_arguments_are_one_line_errors(cli, tmp_path):
    from tests.cli.conftest import assert_clean_error

    assert_clean_error(cli("eval", "--clips", "0"), 2, "--clips")
    assert_clean_error(cli("eval", "--model", tmp_path / "nope"), 4, "nope")
    assert_clean_error(cli("train", "--recipe", "nope", tmp_path / "out"), 2, "unknown recipe")
