"""``vila-stream analyze`` end to end: real clips, the real tiny model, the real CLI."""
from __future__ import annotations

import pytest

from tests.services.cli.conftest import assert_clean_error
from tests.support.video_fixtures import make_clip

pytestmark = pytest.mark.slow

CONTRACT_KEYS = {"source", "duration", "model", "windows", "segments", "summary"}
WINDOW_KEYS = {"window_id", "start", "end", "caption", "actions", "activity"}


def check_covers(data: dict, duration: float, *, tol: float = 0.15) -> None:
    windows = data["windows"]
    assert windows, "no windows"
    assert windows[0]["start"] == pytest.approx(0.0, abs=tol)
    assert windows[-1]["end"] == pytest.approx(duration, abs=tol)
    for a, b in zip(windows, windows[1:]):
        assert b["start"] <= a["end"] + tol, f"gap between {a['end']} and {b['start']}"
        assert b["start"] > a["start"]
    assert len({w["window_id"] for w in windows}) == len(windows)


def test_analyze_file_prints_timeline_and_writes_contract(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mp4", seconds=6.0, fps=10)
    report = tmp_path / "report.md"
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "2", "--report", report)
    assert run.returncode == 0, run.stderr
    data = run.json
    assert CONTRACT_KEYS <= set(data)
    assert data["source"] == str(clip) and data["duration"] == pytest.approx(6.0, abs=0.15)
    assert [round(w["start"], 2) for w in data["windows"]] == [0.0, 2.0, 4.0]
    check_covers(data, 6.0)
    for w in data["windows"]:
        assert WINDOW_KEYS <= set(w)
        assert w["actions"] and abs(sum(a["score"] for a in w["actions"]) - 1.0) < 1e-3
        assert 0.0 <= w["activity"] <= 1.0
    assert data["segments"] and data["segments"][0]["start"] == 0.0
    assert data["summary"]
    assert data["complete"] is True
    # the timeline printed on stdout has one line per window, with its caption
    for w in data["windows"]:
        assert w["caption"] in run.stdout
    assert f"Summary (extractive): {data['summary']}" in run.stdout
    text = report.read_text()
    assert data["summary"] in text
    thumbs = sorted((tmp_path / "report_thumbs").glob("segment-*.jpg"))
    assert len(thumbs) == len(data["segments"])
    assert all(t.read_bytes()[:2] == b"\xff\xd8" for t in thumbs)


def test_html_report_has_one_thumbnail_per_segment(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mkv", seconds=4.0, fps=10)
    report = tmp_path / "report.html"
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "1", "--report", report)
    assert run.returncode == 0, run.stderr
    html = report.read_text()
    assert html.count("data:image/jpeg;base64,") == len(run.json["segments"]) > 0


def test_overlapping_windows_and_partial_last_window(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mp4", seconds=5.0, fps=10)
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "2", "--stride-seconds", "1")
    assert run.returncode == 0, run.stderr
    spans = [(w["start"], w["end"]) for w in run.json["windows"]]
    assert spans[:3] == [(0.0, 2.0), (1.0, 3.0), (2.0, 4.0)]
    check_covers(run.json, 5.0)


def test_clip_shorter_than_window_is_one_partial_window(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "short.mp4", seconds=1.5, fps=10)
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "8")
    assert run.returncode == 0, run.stderr
    (w,) = run.json["windows"]
    assert w["start"] == 0.0 and w["end"] == pytest.approx(1.5, abs=0.15)


def test_default_model_and_fps_sampling(cli, tmp_path):
    """No --model: the embedded default is built on first use and used."""
    clip = make_clip(tmp_path / "scene.mp4", seconds=3.0, fps=10)
    run = cli("analyze", clip, "--window-seconds", "3", "--fps", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    assert run.json["model"] and len(run.json["windows"]) == 1


def test_model_summary_option(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mp4", seconds=2.0, fps=10)
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "1", "--summary", "model")
    assert run.returncode == 0, run.stderr
    assert run.json["summary_method"] in ("model", "extractive")  # extractive if the model said nothing
    assert run.json["summary"]


def test_custom_action_labels_are_scored(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mp4", seconds=2.0, fps=10)
    run = cli("analyze", clip, "--model", tiny_model_dir, "--window-seconds", "2",
              "--actions", "a dog barking, a car parking ,a door opening")
    assert run.returncode == 0, run.stderr
    labels = {a["label"] for a in run.json["windows"][0]["actions"]}
    assert labels == {"a dog barking", "a car parking", "a door opening"}


def test_model_dir_in_wrong_layout(cli, tmp_path):
    clip = make_clip(tmp_path / "scene.mp4", seconds=1.0, fps=10)
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    run = cli("analyze", clip, "--model", bad)
    assert_clean_error(run, 4, str(bad))


def test_invalid_option_values(cli, tmp_path):
    clip = make_clip(tmp_path / "scene.mp4", seconds=1.0, fps=10)
    run = cli("analyze", clip, "--window-seconds", "-1", want_json=False)
    assert run.returncode == 2 and "must be greater than 0" in run.stderr and "Traceback" not in run.stderr
    run = cli("analyze", clip, "--tier", "moon", want_json=False)
    assert_clean_error(run, 2, "moon", "edge", "cloud")
    run = cli("analyze", clip, "--quantization", "int3", want_json=False)
    assert_clean_error(run, 2, "int3", "int8-dynamic-token")


def test_quantization_option_overrides_the_tier(cli, tmp_path):
    from services.cli.analyze import tier_from_args
    from services.cli.main import build_parser

    args = build_parser().parse_args(["analyze", "clip.mp4"])
    assert tier_from_args(args).quantization == "int8-dynamic-token"  # the edge tier's
    args = build_parser().parse_args(["analyze", "clip.mp4", "--quantization", "none", "--frames-per-window", "3"])
    assert (tier_from_args(args).quantization, tier_from_args(args).frames_per_window) == ("none", 3)
    clip = make_clip(tmp_path / "scene.mp4", seconds=1.0, fps=10)
    run = cli("analyze", clip, "--quantization", "none", "--window-seconds", "1")
    assert run.returncode == 0, run.stderr
    assert len(run.json["windows"]) == 1


@pytest.mark.parametrize("value,says", [("", "no label given"), (",,", "no label given"), (" , ", "no label given"),
                                        ("a dog,,a cat", "label 2 is blank"), ("a dog,", "label 2 is blank")])
def test_actions_without_a_label_is_one_line(cli, tmp_path, value, says):
    run = cli("analyze", tmp_path / "scene.mp4", "--actions", value, want_json=False)
    assert run.returncode == 2, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"vila-stream analyze: error: argument --actions: {says}"), line
    assert line.endswith("(see vila-stream analyze --help)"), line


def test_the_embedded_default_model_says_what_it_knows(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "scene.mp4", seconds=1.0, fps=10)
    run = cli("analyze", clip, "--window-seconds", "1")
    assert run.returncode == 0, run.stderr
    [note] = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert f"the embedded default model ({run.json['model']})" in note
    assert "synthetic coloured shapes" in note and "--model PATH" in note and "docs/runtime.md" in note
    assert run.stderr.index("note: ") < run.stderr.index("analyzing")  # before the work, not after it
    assert "note: " not in cli("analyze", clip, "--window-seconds", "1", "--quiet").stderr
    assert "note: " not in cli("analyze", clip, "--window-seconds", "1", "--model", tiny_model_dir).stderr
