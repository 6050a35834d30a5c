"""``vila-stream train`` / ``eval``, and the shipped trained model (tiny-synthetic-v1) end to end.

The shipped-model tests generate clips with the scene generator (evaluation
seeds, never used in training), encode them to H.264 and run the real
``vila-stream analyze`` (decode, sampling, JPEG, the loader, the runtime) with
the default model. They run only where a trained checkpoint is shipped in
``workers/models/`` (see docs/training.md for its status).
"""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tests.services.cli.conftest import assert_clean_error
from workers.runtime import load_model
from workers.runtime.default import SHIPPED_MODEL, SHIPPED_NAME, default_model_path
from workers.training.evaluate import parse_caption, suite_jobs, summarise
from workers.training.recipe import TINY_SYNTHETIC
from workers.training.scenes import caption, plan_scene
from workers.training.scenes.split import EVAL_SEEDS
from workers.training.scenes.text import ordered
from workers.training.scenes.video import write_clip

pytestmark = pytest.mark.slow

MAX_BYTES = 25 * 1024 * 1024
shipped = pytest.mark.skipif(not (SHIPPED_MODEL / "config.json").is_file(),
                             reason=f"no trained checkpoint shipped at {SHIPPED_MODEL}")


def test_train_command_runs_the_recipe_and_each_stage_loads(cli, tmp_path):
    out = tmp_path / "run"
    run = cli("train", "--recipe", "tiny-synthetic", out, "--clips", "6", "--steps", "3", "--seed", "5", "--quiet",
              timeout=600)
    assert run.returncode == 0, run.stderr
    assert f"the model is {out / 'stage3-sft'}" in run.stdout and "rendered 6 training clips" in run.stdout
    for stage in ("stage1-align", "stage2-pretrain", "stage3-sft"):
        assert load_model(out / stage).info.model_id == stage
    recipe = json.loads((out / "recipe.json").read_text())
    assert (out / "loss_curves.png").is_file() and recipe["name"] == "tiny-synthetic"
    assert (recipe["seed"], recipe["held_out_seed"]) == (5, 0)
    again = cli("train", "--recipe", "tiny-synthetic", out, "--clips", "6", "--steps", "3", "--seed", "5", "--quiet")
    assert again.returncode == 0 and "rendered" not in again.stdout  # finished parts are not redone


def test_eval_command_writes_the_report(cli, tmp_path, tiny_model_dir):
    run = cli("eval", "--model", tiny_model_dir, "--suite", "synthetic", "--clips", "4", "--json",
              "--out", tmp_path / "ev")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["clips"] == 4 and report["model"] == tiny_model_dir.name and report["passed"] is False
    assert (report["tier"], report["quantization"]) == ("edge", "int8-dynamic-token")  # as analyze runs it
    assert set(report["attribute_accuracy"]) == {"colour", "shape", "action"}
    assert (tmp_path / "ev" / "confusion.png").stat().st_size > 1000
    assert json.loads((tmp_path / "ev" / "report.json").read_text())["clips"] == 4
    assert "| action recognition top-1" in (tmp_path / "ev" / "report.md").read_text()


def test_bad_train_and_eval_arguments_are_one_line_errors(cli, tmp_path):
    assert_clean_error(cli("eval", "--clips", "0"), 2, "--clips")
    assert_clean_error(cli("eval", "--model", tmp_path / "nope"), 4, "nope")
    assert_clean_error(cli("eval", "--tier", "moon"), 2, "moon")
    assert_clean_error(cli("train", "--recipe", "nope", tmp_path / "out"), 2, "unknown recipe")
    assert_clean_error(cli("train", tmp_path / "out", "--steps", "0"), 2, "--steps")
    assert_clean_error(cli("train", tmp_path / "out", "--ranks", "0"), 2, "--ranks")
    assert_clean_error(cli("train", tmp_path / "out", "--ranks", "3", "--clips", "2"), 2, "--ranks 3")


@shipped
def test_shipped_checkpoint_is_the_default_small_and_documented():
    assert default_model_path() == SHIPPED_MODEL
    files = [p for p in SHIPPED_MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES
    for name in ("config.json", "recipe.json", "training.json", "eval/report.json", "eval/report.md",
                 "eval/confusion.png", "loss_curves.png"):
        assert (SHIPPED_MODEL / name).is_file(), name
    report = json.loads((SHIPPED_MODEL / "eval" / "report.json").read_text())
    assert report["clips"] == 500 and (report["tier"], report["quantization"]) == ("edge", "int8-dynamic-token")
    assert load_model(SHIPPED_MODEL).info.model_id == SHIPPED_NAME
    # the recipe in the code is the one that trained the shipped weights: `vila-stream train` reproduces them
    assert json.loads((SHIPPED_MODEL / "recipe.json").read_text()) == json.loads(json.dumps(asdict(TINY_SYNTHETIC)))


SHIPPED_EVAL = SHIPPED_MODEL / "eval"
#: The clips ``vila-stream eval`` runs again here: the suite's first 40 (every kind of clip, twice).
SLICE = 40
CLIP_FIELDS = ("seed", "kind", "truth", "caption", "objects", "main_action", "top1")
# A few QA answers are near-ties that the CPU's kernels decide: of 2509 questions the shipped report has 2023
# right, the same weights on AVX-512 kernels 2022 and on AVX2 kernels 2024 (docs/training.md, "Status").
# Every clip-level answer is the same on both.
QA_QUESTIONS_THAT_MAY_FLIP = 2


def shipped_clips() -> list[dict]:
    return [json.loads(line) for line in (SHIPPED_EVAL / "clips.jsonl").read_text().splitlines()]


@shipped
def test_shipped_figures_are_what_its_clips_add_up_to():
    """The figures shipped with the model (and quoted in the docs) are computed from the shipped answers."""
    report, clips = json.loads((SHIPPED_EVAL / "report.json").read_text()), shipped_clips()
    assert len(clips) == report["clips"] == 500
    assert [c["seed"] for c in clips] == [job.seed for job in suite_jobs(500)]
    figures = summarise(clips)
    assert figures == {k: report[k] for k in figures}


@shipped
def test_eval_gives_the_shipped_answers(cli, tmp_path):
    """``vila-stream eval`` now answers the suite's first clips as the shipped report says the model did."""
    run = cli("eval", "--suite", "synthetic", "--clips", str(SLICE), "--json", "--out", tmp_path / "ev")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["model"] == SHIPPED_NAME
    measured = [json.loads(line) for line in (tmp_path / "ev" / "clips.jsonl").read_text().splitlines()]
    pairs = list(zip(measured, shipped_clips()[:SLICE], strict=True))
    for got, want in pairs:
        assert {k: got[k] for k in CLIP_FIELDS} == {k: want[k] for k in CLIP_FIELDS}
    flipped = [(a, b) for got, want in pairs for a, b in zip(got["qa"], want["qa"], strict=True) if a != b]
    assert len(flipped) <= QA_QUESTIONS_THAT_MAY_FLIP, flipped


def analyze_clip(cli, tmp_path, seed, objects, actions, drift=None):
    plan = plan_scene(EVAL_SEEDS + seed, objects=objects, actions=actions, drift=drift)
    run = cli("analyze", write_clip(plan, tmp_path / f"clip-{seed}.mp4"))
    assert run.returncode == 0, run.stderr
    assert run.json["model"] == SHIPPED_NAME
    return plan, run


@shipped
def test_red_circle_moving_left_is_in_the_timeline(cli, tmp_path):
    _, run = analyze_clip(cli, tmp_path, 777, [("red", "circle")], ["moving left"])
    [window] = run.json["windows"]
    assert window["caption"] == "a red circle moves left"
    assert window["actions"][0]["label"] == "moving left"
    assert run.json["segments"][0]["caption"] == "a red circle moves left"
    assert "a red circle moves left" in run.stdout


TWO_OBJECTS = (778, [("blue", "square"), ("yellow", "triangle")], ["staying still", "moving up"])


@shipped
def test_two_objects_are_named_left_to_right(cli, tmp_path):
    plan, run = analyze_clip(cli, tmp_path, *TWO_OBJECTS)
    said = parse_caption(run.json["windows"][0]["caption"])
    # both objects, left to right, each with its shape and action (the colours: the exact caption below)
    assert [(shape, action) for _, shape, action in said] == \
        [(o.shape, o.action) for o in ordered(plan)] == [("square", "staying still"), ("triangle", "moving up")]
    assert run.json["windows"][0]["actions"][0]["label"] == "moving up"


@shipped
def test_two_objects_are_captioned_exactly(cli, tmp_path):
    plan, run = analyze_clip(cli, tmp_path, *TWO_OBJECTS)
    assert run.json["windows"][0]["caption"] == caption(plan)


@shipped
def test_brightness_drift_alone_is_not_motion(cli, tmp_path):
    _, run = analyze_clip(cli, tmp_path, 779, [("white", "circle")], ["staying still"], drift=0.2)
    window = run.json["windows"][0]
    # what this clip tests is the motion: one white object that stays still (its shape is the eval's business)
    [(colour, _, action)] = parse_caption(window["caption"])
    assert (colour, action) == ("white", "staying still"), window["caption"]
    assert window["actions"][0]["label"] == "staying still"


@shipped
def test_worker_grpc_api_gives_the_same_answers_as_analyze(cli, tmp_path):
    """The same clip through the worker's gRPC Caption RPC (real server, real socket) and through analyze."""
    import ingest
    from core.convert import result_from_pb, window_to_pb
    from tests.workers.server.harness import InProcessWorker, worker_settings
    from vila.v1 import inference_pb2
    from core.labels import DEFAULT_ACTION_LABELS

    plan, run = analyze_clip(cli, tmp_path, 780, [("green", "square"), ("red", "triangle")],
                             ["moving right", "appearing"])
    config = ingest.IngestConfig(window_seconds=8.0, frames_per_window=4)
    windows = list(ingest.iter_windows(run.json["source"], run.json["stream_id"], config))
    worker = InProcessWorker(worker_settings(SHIPPED_MODEL, max_wait_ms=0))
    worker.call(worker.app.start())
    try:
        stub = worker.connect()
        for window, expected in zip(windows, run.json["windows"], strict=True):
            reply = stub.Caption(inference_pb2.CaptionRequest(window=window_to_pb(window),
                                                              labels=list(DEFAULT_ACTION_LABELS)))
            result = result_from_pb(reply)
            assert result.caption == expected["caption"]
            assert result.actions[0].label == expected["actions"][0]["label"]
    finally:
        worker.close()


@shipped
def test_the_cloud_tier_shows_the_shipped_model_the_frames_it_was_trained_on(cli, tmp_path):
    """The cloud tier's 8 frames per window are twice the model's num_video_frames: analyze, eval and the
    worker give it 4 (shown 8, the model shipped before, run f4, got 4 of 9 single-object clips of the suite's first
    20 all right)."""
    from tests.workers.server.harness import InProcessWorker, worker_settings
    from vila.v1 import inference_pb2

    plan = plan_scene(EVAL_SEEDS + 783, objects=[("red", "circle")], actions=["moving left"])  # f4 at 8: "disappears"
    clip = write_clip(plan, tmp_path / "clip.mp4")
    run = cli("analyze", clip, "--tier", "cloud")
    assert run.returncode == 0, run.stderr
    assert run.json["windows"][0]["caption"] == "a red circle moves left"
    # analyze samples the 4 frames itself: the same frames as the edge tier at the cloud's precision give the
    # same scores (8 sampled frames thinned to 4 are other frames, and score otherwise).
    edge = cli("analyze", clip, "--tier", "edge", "--quantization", "none")
    assert edge.returncode == 0, edge.stderr
    assert [w["actions"] for w in run.json["windows"]] == [w["actions"] for w in edge.json["windows"]]
    evaluated = cli("eval", "--tier", "cloud", "--clips", "20", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert (report["tier"], report["frames"]) == ("cloud", 4) and report["single_all_correct"] >= 0.85
    worker = InProcessWorker(worker_settings(SHIPPED_MODEL, tier="cloud", warmup=False))
    worker.call(worker.app.start())
    try:
        assert worker.connect().Info(inference_pb2.InfoRequest()).frames_per_window == 4
    finally:
        worker.close()
