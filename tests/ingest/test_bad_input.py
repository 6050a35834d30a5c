"""Bad input: each case is a typed error with a one-line message naming the file and the problem."""
import re

import pytest

import ingest
from core.errors import CorruptMedia, InvalidInput, NotAVideo, SourceNotFound, UnsupportedCodec
from core.types import StreamState
from tests.support.video_fixtures import (
    make_audio_only,
    make_clip,
    make_codecless_clip,
    make_unsupported_codec_clip,
)

CONFIG = ingest.IngestConfig(window_seconds=2.0, frames_per_window=4)


def consume(path, config=CONFIG):
    """(windows yielded before the error, the error)."""
    windows, events = [], []
    with pytest.raises(Exception) as info:
        for window in ingest.iter_windows(str(path), "s", config, on_event=events.append):
            windows.append(window)
    error = info.value
    assert "\n" not in str(error), "messages are one line"
    assert events[-1].state is StreamState.ENDED and events[-1].detail == str(error)
    return windows, error


def test_missing_file(tmp_path):
    _, error = consume(tmp_path / "nope.mp4")
    assert isinstance(error, SourceNotFound)
    assert str(error) == f"{tmp_path / 'nope.mp4'}: no such file"
    with pytest.raises(SourceNotFound):
        ingest.probe(str(tmp_path / "nope.mp4"))


def test_zero_length_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    _, error = consume(tmp_path / "empty.mp4")
    assert isinstance(error, NotAVideo)
    assert str(error) == f"{tmp_path / 'empty.mp4'} is empty (0 bytes)"


@pytest.mark.parametrize("name,content", [
    ("notes.txt", "this is a text file, not a video\n" * 30),   # FFmpeg would "play" it as ANSI art
    ("page.html", "<html><body>hello</body></html>\n" * 30),
    ("data.bin", bytes(range(256)) * 40),
])
def test_not_a_video(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content) if isinstance(content, str) else path.write_bytes(content)
    _, error = consume(path)
    assert isinstance(error, NotAVideo)
    assert str(error).startswith(f"{path} is not a video file")


def test_still_image_is_not_a_video(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 24), "red").save(tmp_path / "picture.png")
    _, error = consume(tmp_path / "picture.png")
    assert isinstance(error, NotAVideo) and "still image" in str(error)


def test_audio_only_file(tmp_path):
    path = make_audio_only(tmp_path / "voice.m4a", seconds=0.5)
    _, error = consume(path)
    assert isinstance(error, NotAVideo)
    assert str(error) == f"{path} has no video stream (found: 1 audio)"


def test_codec_without_a_decoder(tmp_path):
    path = make_unsupported_codec_clip(tmp_path / "avs2.ts")
    _, error = consume(path)
    assert isinstance(error, UnsupportedCodec)
    assert str(error).startswith(f"{path}: video stream #0 uses a codec") and "cannot decode" in str(error)
    with pytest.raises(UnsupportedCodec):
        ingest.probe(str(path))


def test_codecless_stream(tmp_path):
    path = make_codecless_clip(tmp_path / "unknown.mkv")
    _, error = consume(path)
    assert isinstance(error, UnsupportedCodec)


def test_directory_is_invalid_input(tmp_path):
    _, error = consume(tmp_path)
    assert isinstance(error, InvalidInput) and "is a directory" in str(error)


def test_unsupported_scheme():
    with pytest.raises(InvalidInput, match="unsupported URL scheme 'ftp'"):
        list(ingest.iter_windows("ftp://host/clip.mp4", "s", CONFIG))


# -- damaged files: what can be decoded is used, then CorruptMedia ------------------------------

@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    return {suffix: make_clip(root / f"long{suffix}", seconds=8.0, fps=10) for suffix in (".mp4", ".mkv", ".ts")}


def flip_bytes(src, dst, start_fraction=0.5, length=3000):
    data = bytearray(src.read_bytes())
    first = int(len(data) * start_fraction)
    for i in range(first, min(len(data), first + length), 7):
        data[i] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def cut(src, dst, fraction=0.5):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_corrupt_middle_yields_all_windows_then_raises(tmp_path, long_clips, suffix):
    path = flip_bytes(long_clips[suffix], tmp_path / f"flipped{suffix}")
    windows, error = consume(path)
    assert isinstance(error, CorruptMedia)
    assert re.fullmatch(rf"{re.escape(str(path))}: (\d+ damaged packet\(s\) could not be decoded cleanly)?(; )?"
                        r"(\d+\.\d s of frames missing in \d+ gap\(s\))? \(\d+\.\d s–\d+\.\d s\)",
                        str(error)), str(error)
    # every window was built before the error: the damage is local
    assert [(w.start, w.end) for w in windows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0)]


def test_truncated_matroska_keeps_the_first_half(tmp_path, long_clips):
    path = cut(long_clips[".mkv"], tmp_path / "cut.mkv")
    windows, error = consume(path)
    assert isinstance(error, CorruptMedia)
    match = re.fullmatch(rf"{re.escape(str(path))}: truncated: decoding stopped at (\d+\.\d) s of 8\.0 s", str(error))
    assert match, str(error)
    stopped = float(match.group(1))
    assert 2.0 <= stopped <= 6.0
    assert windows and windows[-1].end == pytest.approx(stopped, abs=0.05) and windows[-1].partial


def test_truncated_faststart_mp4_keeps_the_first_half(tmp_path):
    # moov first (as streaming services write MP4s): the index survives the cut
    src = make_clip(tmp_path / "fast.mp4", seconds=8.0, fps=10, container_options={"movflags": "faststart"})
    path = cut(src, tmp_path / "cut.mp4", 0.6)
    windows, error = consume(path)
    assert isinstance(error, CorruptMedia)
    assert "truncated: decoding stopped at" in str(error) or "damaged packet" in str(error), str(error)
    assert windows and windows[0].start == 0.0


def test_truncated_mp4_without_index_fails_at_open(tmp_path, long_clips):
    # moov at the end (the default): cutting the file removes the index, nothing can be decoded
    path = cut(long_clips[".mp4"], tmp_path / "cut.mp4")
    windows, error = consume(path)
    assert windows == []
    assert isinstance(error, CorruptMedia)
    assert str(error).startswith(f"{path}: looks like MP4/MOV but cannot be opened (truncated or damaged")


@pytest.mark.parametrize("keep", [48, 200])
def test_matroska_cut_inside_its_header_is_damaged_media(tmp_path, keep):
    """FFmpeg ends the header read with end-of-file (48 bytes kept) or an I/O error (200): a file that
    starts like Matroska and cannot be opened is damaged, exit 3 (it was the generic "cannot be opened")."""
    whole = make_clip(tmp_path / "whole.mkv", seconds=2.0, fps=8, size=(64, 48)).read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(whole[:keep])
    windows, error = consume(path)
    assert windows == [] and isinstance(error, CorruptMedia) and error.exit_code == 3
    assert str(error).startswith(f"{path}: looks like Matroska/WebM but cannot be opened (truncated or damaged")
