"""``analyze`` on the real clips in ../shared/videos: windows cover each clip exactly.

Runs only where that folder exists (a user's clone does not have it).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.cli.test_analyze import check_covers

VIDEOS = Path(__file__).resolve().parents[3].parent / "shared" / "videos"
CLIPS = sorted(p.name for p in VIDEOS.glob("*") if p.suffix in (".mp4", ".mkv")) if VIDEOS.is_dir() else []

pytestmark = [
    pytest.mark.videos,
    pytest.mark.slow,
    pytest.mark.skipif(not CLIPS, reason=f"{VIDEOS} is absent (real clips are not part of the project)"),
]


def media_duration(path: Path) -> float:
    """The video stream's duration by PyAV's own demuxing: last frame's pts + its duration."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start = s.start_time or 0
        last = 0
        for packet in c.demux(s):
            if packet.pts is not None:
                last = max(last, packet.pts + (packet.duration or 0))
        return float((last - start) * s.time_base)


@pytest.mark.parametrize("name", CLIPS)
def test_windows_cover_the_whole_clip(cli, tiny_model_dir, name):
    path = VIDEOS / name
    run = cli("analyze", path, "--model", tiny_model_dir, "--window-seconds", "8", "--quiet")
    assert run.returncode == 0, run.stderr
    duration = media_duration(path)
    assert run.json["duration"] == pytest.approx(duration, abs=0.1)
    check_covers(run.json, duration, tol=0.1)
    windows = run.json["windows"]
    assert all(w["end"] - w["start"] <= 8.0 + 1e-6 for w in windows)
    assert all(w["end"] - w["start"] == pytest.approx(8.0, abs=0.01) for w in windows[:-1])
