"""Output paths are checked before the work starts: a path that cannot be written is exit 2 and one line
naming the option, the path and why, for every command that writes a file; a missing folder is never created."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import InvalidInput
from services.cli.outputs import check_output_dir, check_output_file
from tests.services.cli.conftest import assert_clean_error
from tests.support.video_fixtures import make_clip

NOT_WRITABLE = Path("/proc")  # refuses new files even to root, who ignores permission bits


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "scene.mp4", seconds=1.0, fps=10)


def bad_places(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (an output file path that cannot be written, what the error must say)."""
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder\n")
    (tmp_path / "taken").mkdir()
    return {
        "missing folder": (tmp_path / "no-such-dir" / "deeper" / "out.json",
                           f"directory {tmp_path / 'no-such-dir'} does not exist"),
        "folder as target": (tmp_path / "taken", "is a directory"),
        "under a file": (a_file / "out.json", f"{a_file} is not a directory"),
        "not writable": (NOT_WRITABLE / "vila-stream-out.json", f"cannot write in {NOT_WRITABLE}"),
    }


@pytest.mark.parametrize("case", ["missing folder", "folder as target", "under a file", "not writable"])
def test_check_output_file_names_the_path_and_why(tmp_path, case):
    path, why = bad_places(tmp_path)[case]
    with pytest.raises(InvalidInput) as info:
        check_output_file("--json", path)
    assert str(info.value).startswith(f"--json {path}: ") and why in str(info.value)
    assert not (tmp_path / "no-such-dir").exists()


def test_check_output_file_and_dir_accept_writable_places(tmp_path):
    check_output_file("--json", tmp_path / "new.json")
    (tmp_path / "old.json").write_text("{}")
    check_output_file("--json", tmp_path / "old.json")
    check_output_dir("--out", tmp_path / "new-dir")
    check_output_dir("--out", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # the probe leaves nothing behind


def test_check_output_dir_refuses_a_file_and_a_missing_parent(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidInput, match="exists and is not a directory"):
        check_output_dir("--out", tmp_path / "f")
    with pytest.raises(InvalidInput, match="does not exist"):
        check_output_dir("--out", tmp_path / "missing" / "out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits (the /proc case covers it)")
def test_check_output_file_refuses_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InvalidInput, match="cannot write in"):
            check_output_file("--json", ro / "out.json")
    finally:
        ro.chmod(0o700)


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--json", "--report"])
@pytest.mark.parametrize("case", ["missing folder", "folder as target", "under a file", "not writable"])
def test_analyze_refuses_an_unwritable_output_before_the_analysis(cli, tmp_path, clip, flag, case):
    path, why = bad_places(tmp_path)[case]
    run = cli("analyze", clip, "--window-seconds", "1", flag, path, want_json=False)
    line = assert_clean_error(run, 2, f"{flag} {path}: ", why)
    assert "internal error" not in line
    assert "Timeline" not in run.stdout  # nothing was analysed
    assert not (tmp_path / "no-such-dir").exists()  # and nothing was created


@pytest.mark.slow
def test_analyze_refuses_a_report_whose_thumbnail_folder_is_a_file(cli, tmp_path, clip):
    (tmp_path / "report_thumbs").write_text("in the way\n")
    run = cli("analyze", clip, "--report", tmp_path / "report.md", want_json=False)
    assert_clean_error(run, 2, "--report", str(tmp_path / "report_thumbs"))
    assert "Timeline" not in run.stdout


@pytest.mark.slow
def test_every_command_that_writes_checks_its_outputs_first(cli, tmp_path, tiny_model_dir):
    missing = tmp_path / "no-such-dir"
    commands = [
        (["eval", "--clips", "1", "--out", missing / "eval"], "--out"),
        (["model", "make-tiny", missing / "tiny"], "OUT"),
        (["model", "export", tiny_model_dir, "--onnx", missing / "v.onnx"], "--onnx"),
        (["model", "export", tiny_model_dir, "--onnx", tmp_path / "v.onnx", "--tensorrt", missing / "v.plan"],
         "--tensorrt"),
        (["train", missing / "run", "--clips", "1", "--steps", "1"], "OUT"),
        (["cluster", "up", "--run-dir", missing / "cluster"], "--run-dir"),
    ]
    for argv, flag in commands:
        run = cli(*argv)
        assert_clean_error(run, 2, f"{flag} ", f"directory {missing} does not exist")
        assert not run.stdout, (argv, run.stdout)
        assert not missing.exists(), argv
    assert not (tmp_path / "v.onnx").exists()  # --tensorrt was refused before the ONNX export
