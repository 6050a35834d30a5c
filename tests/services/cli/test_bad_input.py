"""Each bad input gives one clear error line and a non-zero exit, never a traceback;
what was analysed before a failure is kept."""
from __future__ import annotations

import pytest

from tests.services.cli.conftest import assert_clean_error
from tests.support.rtsp import free_port
from tests.support.video_fixtures import make_audio_only, make_clip, make_unsupported_codec_clip

pytestmark = pytest.mark.slow


def test_missing_file(cli, tmp_path, tiny_model_dir):
    path = tmp_path / "nope.mp4"
    assert_clean_error(cli("analyze", path, "--model", tiny_model_dir), 3, str(path))


def test_zero_length_file(cli, tmp_path, tiny_model_dir):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert_clean_error(cli("analyze", path, "--model", tiny_model_dir), 3, str(path), "empty")


def test_text_file_is_not_video(cli, tmp_path, tiny_model_dir):
    path = tmp_path / "notes.mp4"
    path.write_text("these are not the frames you are looking for\n" * 50)
    assert_clean_error(cli("analyze", path, "--model", tiny_model_dir), 3, str(path))


def test_audio_only_file_is_not_video(cli, tmp_path, tiny_model_dir):
    path = make_audio_only(tmp_path / "sound.m4a")
    assert_clean_error(cli("analyze", path, "--model", tiny_model_dir), 3, str(path), "video")


def test_unsupported_codec(cli, tmp_path, tiny_model_dir):
    path = make_unsupported_codec_clip(tmp_path / "odd.ts")
    assert_clean_error(cli("analyze", path, "--model", tiny_model_dir), 3, str(path), "codec")


def test_truncated_file_keeps_what_was_decoded(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "whole.ts", seconds=8.0, fps=10)
    data = clip.read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: len(data) // 2])
    run = cli("analyze", cut, "--model", tiny_model_dir, "--window-seconds", "1")
    # A cut transport stream has no index to say how long it was: it decodes to its end.
    assert run.returncode in (0, 3), run.stderr
    assert "Traceback" not in run.stderr
    assert run.json and 2 <= len(run.json["windows"]) <= 6


def test_truncated_mp4_reports_damage_and_keeps_windows(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "whole.mp4", seconds=8.0, fps=10)
    fast = tmp_path / "fast.mp4"
    import av  # remux with the index first, as cameras' recorders do, so a cut file still opens

    with av.open(str(clip)) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as dst:
        s = src.streams.video[0]
        o = dst.add_stream_from_template(s)
        for p in src.demux(s):
            if p.dts is None:
                continue
            p.stream = o
            dst.mux(p)
    data = fast.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.55)])
    run = cli("analyze", cut, "--model", tiny_model_dir, "--window-seconds", "1")
    line = assert_clean_error(run, 3, str(cut))
    assert run.json is not None and run.json["complete"] is False and run.json["error"]
    assert 1 <= len(run.json["windows"]) < 8
    assert f"(kept what was analysed: {len(run.json['windows'])} window" in line


def test_corrupt_bytes_decode_what_is_decodable(cli, tmp_path, tiny_model_dir):
    clip = make_clip(tmp_path / "whole.mkv", seconds=6.0, fps=10)
    data = bytearray(clip.read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + 4000, 7):
        data[i] ^= 0xA5
    bad = tmp_path / "flipped.mkv"
    bad.write_bytes(bytes(data))
    run = cli("analyze", bad, "--model", tiny_model_dir, "--window-seconds", "1")
    assert "Traceback" not in run.stderr
    assert run.returncode in (0, 3), run.stderr
    assert run.json is not None and len(run.json["windows"]) >= 3
    if run.returncode == 3:
        assert run.json["complete"] is False and str(bad) in run.json["error"]


def test_unreachable_rtsp_host(cli, tiny_model_dir):
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    run = cli("analyze", url, "--model", tiny_model_dir, "--max-seconds", "5", timeout=120)
    assert_clean_error(run, 3, url)
