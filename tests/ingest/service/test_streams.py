"""Streams from a TOML file, ``--streams`` and ``--source``/``--stream-id`` pairs (pure)."""
from __future__ import annotations

import argparse

import pytest

from ingest.service.settings import add_ingest_arguments, settings_from
from core.errors import InvalidInput

GOOD = """
[defaults]
window_seconds = 4
frames_per_window = 4

[[stream]]
id = "door"
source = "rtsp://camera.local:8554/door"

[[stream]]
id = "lobby"
source = "/videos/lobby.mp4"
window_seconds = 2
"""


def specs(argv, environ=None):
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    args = parser.parse_args(argv)
    return settings_from(args, environ or {}).stream_specs(args.source, args.stream_id)


def test_a_streams_file_with_defaults_and_overrides(tmp_path):
    path = tmp_path / "streams.toml"
    path.write_text(GOOD)
    door, lobby, cam = specs(["--config", str(path), "--source", "a.mp4", "--stream-id", "cam"])
    assert (door.stream_id, door.source, door.ingest.window_seconds, door.ingest.frames_per_window) == \
        ("door", "rtsp://camera.local:8554/door", 4, 4)
    assert (lobby.ingest.window_seconds, lobby.ingest.frames_per_window) == (2, 4)
    assert (cam.stream_id, cam.source, cam.ingest.window_seconds) == ("cam", "a.mp4", 8.0)


def test_streams_from_the_environment_and_repeated_pairs():
    got = specs(["--source", "b.mp4", "--stream-id", "b", "--source", "c.mp4", "--stream-id", "c",
                 "--window-seconds", "1"], {"VILA_INGEST_STREAMS": "a=rtsp://h/a"})
    assert [(s.stream_id, s.source, s.ingest.window_seconds) for s in got] == \
        [("a", "rtsp://h/a", 1.0), ("b", "b.mp4", 1.0), ("c", "c.mp4", 1.0)]


@pytest.mark.parametrize("text, message", [
    ("[[stream]]\nid = 'a'\nsource = 'x.mp4'\nwindw_seconds = 2\n", r"streams.toml: a.windw_seconds: unknown key"),
    ("[[stream]]\nid = 'a'\nsource = \n", r"streams.toml: not valid TOML: .*line 3"),
    ("[[stream]]\nid = 'a'\n", r"streams.toml: stream\[0\]: needs both id and source"),
    ("[[stream]]\nid = 'a'\nsource = 'x.mp4'\nwindow_seconds = -1\n", r"streams.toml: a: window_seconds must be > 0"),
    ("[defaults]\nfps = 'fast'\n[[stream]]\nid = 'a'\nsource = 'x'\n", r"streams.toml: defaults: fps must be a number"),
    ("[camera]\n", r"streams.toml: unknown table 'camera'"),
    ("[defaults]\n", r"streams.toml: no streams"),
    ("[[stream]]\nid = 'a b'\nsource = 'x.mp4'\n", r"streams.toml: a b: stream id 'a b' must be"),
])
def test_a_bad_streams_file_names_the_file_and_the_line_or_key(tmp_path, text, message):
    path = tmp_path / "streams.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        specs(["--config", str(path)])


@pytest.mark.parametrize("argv, message", [
    (["--source", "a.mp4"], "give one --stream-id per --source"),
    (["--source", "a.mp4", "--stream-id", "x", "--source", "b.mp4", "--stream-id", "x"], "'x' is given twice"),
    ([], "no streams"),
    (["--streams", "novalue"], "not ID=SOURCE"),
    (["--config", "/nonexistent/streams.toml"], "streams file not found"),
    (["--queue-size", "0", "--source", "a", "--stream-id", "a"], "queue_size"),
])
def test_bad_stream_options(argv, message):
    with pytest.raises(InvalidInput, match=message):
        specs(argv)

