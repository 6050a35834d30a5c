"""Fuzz the file source: corrupted video files through ``ingest.iter_windows``, as ``vila-stream analyze`` and
the ingest service read them.

Files are real clips (MP4, Matroska, MPEG-TS, WebM) damaged the ways disks and downloads damage them: bit
flips, truncation, zeroed or spliced runs, a header from another container, a file given the wrong suffix.
Every file ends in windows that are whole (each with frames and a possible span) and then either the end
of the stream or one typed error (a ``SourceError`` that says what kind: not a video, damaged, an unsupported
codec; exit 3) with a one-line message naming the file.
Nothing else may escape, and no file may hang the reader (each runs under a deadline).
"""
from __future__ import annotations

import concurrent.futures
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ingest
from core.errors import SourceError
from core.windowing import window_problem
from tests.fuzz.strategies import FUZZ, mutated
from tests.support.video_fixtures import make_clip

CONFIG = ingest.IngestConfig(window_seconds=1.0, frames_per_window=2)
DEADLINE_S = 60.0
SUFFIXES = (".mp4", ".mkv", ".ts", ".webm")
seen = Counter()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz-clips")
    return {s: make_clip(folder / f"clip{s}", seconds=2.0, fps=8, size=(64, 48)).read_bytes() for s in SUFFIXES}


@pytest.fixture(scope="module")
def reader():
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        yield pool


def read_all(path: Path) -> tuple[list, BaseException | None]:
    windows = []
    try:
        for window in ingest.iter_windows(str(path), "fuzz", CONFIG):
            windows.append(window)
    except SourceError as exc:
        return windows, exc
    return windows, None


@st.composite
def damaged(draw, clips: dict[str, bytes]) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(SUFFIXES))
    data = clips[suffix]
    how = draw(st.sampled_from(["mutate", "mutate", "mutate", "wrong-suffix", "foreign-header"]))
    if how == "wrong-suffix":
        return draw(st.sampled_from([s for s in SUFFIXES if s != suffix])), draw(mutated(data))
    if how == "foreign-header":
        other = clips[draw(st.sampled_from(SUFFIXES))]
        cut = draw(st.integers(1, 512))
        return suffix, other[:cut] + data[cut:]
    return suffix, draw(mutated(data))


def test_corrupted_files(clips, reader, tmp_path_factory):
    @FUZZ
    @given(damaged(clips))
    def fuzz(case):
        suffix, data = case
        path = tmp_path_factory.mktemp("damaged") / f"clip{suffix}"
        path.write_bytes(data)
        windows, error = reader.submit(read_all, path).result(DEADLINE_S)
        for window in windows:
            assert window_problem(window) is None, window_problem(window)
        if error is None:
            seen["read to the end"] += 1
        else:
            message = str(error)
            assert "\n" not in message and path.name in message and error.exit_code == 3, message
            assert error.reason != "source", message  # a precise kind: not a video, damaged, unsupported
            seen[f"{error.reason}, {'after windows' if windows else 'no windows'}"] += 1

    fuzz()
    print(f"fuzz video files: {sum(seen.values())} inputs, {dict(seen)}")
    assert seen["read to the end"] and sum(seen.values()) > seen["read to the end"]
