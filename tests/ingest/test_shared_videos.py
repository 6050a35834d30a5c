"""The real clips in ../shared/videos (see its MANIFEST.md): exact coverage, metadata, activity.

Skipped where the folder is absent (a user's clone does not have it).
"""
from __future__ import annotations

from pathlib import Path

import av
import pytest

import ingest
from tests.ingest.helpers import assert_covers

VIDEOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "videos"
CLIPS = sorted(p.name for p in VIDEOS.glob("*") if p.suffix in (".mp4", ".mkv")) if VIDEOS.is_dir() else []

pytestmark = [pytest.mark.videos,
              pytest.mark.skipif(not CLIPS, reason=f"{VIDEOS} is absent (real clips are not part of the project)")]

# From MANIFEST.md: duration (s), frames, width, height, fps.
MANIFEST = {
    "car-detection.mp4": (30.2, 377, 768, 432, 12.5),
    "bottle-detection.mp4": (39.9, 1189, 640, 360, 179 / 6),
    "asl-walk.mkv": (2.97, 89, 640, 480, 30.0),
    "bigbuckbunny.mp4": (5.3, 132, 1280, 720, 25.0),
}


def pyav_duration(path: Path) -> tuple[float, float]:
    """(duration, frame duration) by decoding with PyAV directly: last frame's end."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start, end, last = stream.start_time or 0, 0, 0
        for frame in container.decode(stream):
            end, last = max(end, frame.pts + (frame.duration or 0)), frame.duration or 0
        return float((end - start) * stream.time_base), float(last * stream.time_base)


@pytest.mark.parametrize("name", CLIPS)
@pytest.mark.parametrize("window_s,stride_s", [(8.0, None), (3.0, 2.0)])
def test_windows_cover_the_whole_clip(name, window_s, stride_s):
    path = VIDEOS / name
    duration, frame_s = pyav_duration(path)
    config = ingest.IngestConfig(window_seconds=window_s, stride_seconds=stride_s, frames_per_window=8)
    windows = list(ingest.iter_windows(str(path), name, config))
    assert_covers(windows, duration, window_s, stride_s, end_tol=frame_s)
    if name in MANIFEST:
        assert windows[-1].end == pytest.approx(MANIFEST[name][0], abs=0.06)
    assert all(len(w.frames) == 8 for w in windows)


@pytest.mark.parametrize("name", [n for n in CLIPS if n in MANIFEST])
def test_probe_matches_the_manifest(name):
    duration, _, width, height, fps = MANIFEST[name]
    info = ingest.probe(str(VIDEOS / name))
    assert (info.kind, info.live, info.codec, info.width, info.height) == ("file", False, "h264", width, height)
    assert info.duration == pytest.approx(duration, abs=0.06)
    assert info.fps == pytest.approx(fps, rel=1e-3)


@pytest.mark.skipif("car-detection.mp4" not in CLIPS, reason="car-detection.mp4 absent")
def test_car_clip_activity_follows_the_traffic():
    config = ingest.IngestConfig(window_seconds=4.0, frames_per_window=8)
    activity = {w.start: w.activity for w in ingest.iter_windows(str(VIDEOS / "car-detection.mp4"), "car", config)}
    empty = [activity[0.0], activity[20.0]]  # an empty lane (MANIFEST: cars at 4-8, 14-18, 25-28 s)
    busy = [activity[4.0], activity[16.0], activity[24.0]]
    assert max(empty) < 0.35, activity
    assert min(busy) > 0.8, activity


@pytest.mark.skipif("bottle-detection.mp4" not in CLIPS, reason="bottle-detection.mp4 absent")
def test_bottle_clip_is_still_until_the_hand_comes():
    config = ingest.IngestConfig(window_seconds=4.0, frames_per_window=8)
    first = next(iter(ingest.iter_windows(str(VIDEOS / "bottle-detection.mp4"), "bottles", config)))
    assert first.activity < 0.1  # three bottles on a table, nothing moves before ~7 s
