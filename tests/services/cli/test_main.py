"""The parser: a bad option is one line naming the sub-command it belongs to, exit 2; ``--version``."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from services.cli.main import main

BAD = [  # (argv, the prog that must own the error, what the message must say)
    (["analyze", "clip.mp4", "--window-seconds", "x"], "vila-stream analyze", "--window-seconds: 'x' is not a number"),
    (["analyze", "clip.mp4", "--window-seconds", "-1"], "vila-stream analyze", "must be greater than 0"),
    (["analyze", "clip.mp4", "--bogus"], "vila-stream analyze", "unrecognized arguments: --bogus"),
    (["analyze", "--summary", "poem", "clip.mp4"], "vila-stream analyze", "invalid choice: 'poem'"),
    (["analyze"], "vila-stream analyze", "required: SOURCE"),
    (["model", "export", "ckpt"], "vila-stream model export", "required: --onnx"),
    (["model", "make-tiny", "out", "--seed", "x"], "vila-stream model make-tiny", "invalid int value: 'x'"),
    (["model"], "vila-stream model", "required: MODEL_COMMAND"),
    (["cluster", "up", "--kafka-port", "x"], "vila-stream cluster up", "invalid int value: 'x'"),
    (["cluster", "down", "--bogus"], "vila-stream cluster down", "unrecognized arguments: --bogus"),
    (["cluster", "sideways"], "vila-stream cluster", "invalid choice: 'sideways'"),
    (["timeline", "cam", "--start", "-1"], "vila-stream timeline", "must not be negative"),
    (["watch", "--count", "x"], "vila-stream watch", "invalid int value: 'x'"),
    (["eval", "--suite", "moon"], "vila-stream eval", "invalid choice: 'moon'"),
    (["train", "out", "--ranks", "x"], "vila-stream train", "invalid int value: 'x'"),
    (["ingest", "--bogus"], "vila-stream ingest", "unrecognized arguments: --bogus"),
    (["sideways"], "vila-stream", "invalid choice: 'sideways'"),
    (["--bogus", "streams"], "vila-stream", "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv,prog,says", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_a_bad_option_is_one_line_naming_its_command(capsys, argv, prog, says):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"{prog}: error: ") and lines[0].endswith(f" (see {prog} --help)"), lines[0]
    assert says in lines[0]


def test_unknown_option_under_analyze_as_a_user_runs_it():
    run = subprocess.run([sys.executable, "-m", "services.cli.main", "analyze", "clip.mp4", "--windows", "2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == ("vila-stream analyze: error: unrecognized arguments: --windows 2 "
                          "(see vila-stream analyze --help)\n")


def test_version_comes_from_the_package_metadata():
    run = subprocess.run([sys.executable, "-m", "services.cli.main", "--version"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"vila-stream {importlib.metadata.version('vila-stream')}\n"
