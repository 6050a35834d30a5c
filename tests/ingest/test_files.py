"""Local files end to end: every container, audio-first files, sampling modes, limits, callbacks."""
import threading

import av
import pytest

import ingest
from core.ids import window_id
from core.types import StreamState
from tests.ingest.helpers import assert_covers, jpeg_size


def video_duration(path) -> float:
    """Independent oracle: last frame's pts + duration, relative to the stream start, by PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start, end = stream.start_time or 0, 0
        for frame in container.decode(stream):
            end = max(end, frame.pts + (frame.duration or 0))
        return float((end - start) * stream.time_base)


@pytest.mark.parametrize("name", ["moving.mp4", "moving.mkv", "moving.mov", "moving.ts", "moving.webm"])
def test_every_container_gives_covering_windows(clip_dir, name):
    config = ingest.IngestConfig(window_seconds=2.0, frames_per_window=4)
    windows = list(ingest.iter_windows(str(clip_dir / name), "cam-1", config))
    assert_covers(windows, video_duration(clip_dir / name), 2.0)
    assert [(w.start, w.end, w.partial) for w in windows] == [(0.0, 2.0, False), (2.0, 4.0, False), (4.0, 5.0, True)]
    for w in windows:
        assert w.stream_id == "cam-1" and w.origin_unix == 0.0
        assert w.window_id == window_id("cam-1", w.start)
        assert w.source == str(clip_dir / name)
        assert len(w.frames) == 4
        assert all(jpeg_size(f.jpeg) == (320, 240) for f in w.frames)
    # the full windows are centred on their slots: (i + 0.5) * 0.5 s at 10 fps
    assert [f.pts for f in windows[0].frames] == pytest.approx([0.2, 0.7, 1.2, 1.7])


def test_audio_stream_first_is_skipped(clip_dir):
    path = clip_dir / "audio_first.mp4"
    with av.open(str(path)) as container:
        assert container.streams[0].type == "audio"  # the fixture really puts audio first
    info = ingest.probe(str(path))
    assert (info.kind, info.live, info.codec, info.width, info.height) == ("file", False, "h264", 320, 240)
    assert info.duration == pytest.approx(3.0, abs=0.01)
    windows = list(ingest.iter_windows(str(path), "s", ingest.IngestConfig(window_seconds=2.0)))
    assert_covers(windows, video_duration(path), 2.0)


def test_fps_sampling_on_a_file(clip_dir):
    config = ingest.IngestConfig(window_seconds=2.0, fps=2.0, frames_per_window=None)
    windows = list(ingest.iter_windows(str(clip_dir / "moving.mp4"), "s", config))
    pts = [f.pts for w in windows for f in w.frames]
    assert pts == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])


def test_overlapping_windows_on_a_file(clip_dir):
    config = ingest.IngestConfig(window_seconds=4.0, stride_seconds=1.5, frames_per_window=4)
    windows = list(ingest.iter_windows(str(clip_dir / "long.mkv"), "s", config))
    assert_covers(windows, 12.0, 4.0, 1.5)
    assert [w.start for w in windows] == [0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0]
    # [7.5, 11.5) stops short of 12 s, so [9, 13) is needed and cut to [9, 12); nothing starts at 10.5
    assert windows[-1].partial is True and windows[-1].end == pytest.approx(12.0)


def test_max_seconds_cuts_a_file(clip_dir):
    config = ingest.IngestConfig(window_seconds=4.0, max_seconds=6.0)
    windows = list(ingest.iter_windows(str(clip_dir / "long.mkv"), "s", config))
    assert [(w.start, w.end, w.partial) for w in windows] == [(0.0, 4.0, False), (4.0, 6.0, True)]
    assert max(f.pts for f in windows[-1].frames) < 6.0


def test_clip_shorter_than_a_window(clip_dir):
    windows = list(ingest.iter_windows(str(clip_dir / "short.mp4"), "s",
                                       ingest.IngestConfig(window_seconds=8.0, frames_per_window=8)))
    assert len(windows) == 1
    assert (windows[0].start, windows[0].end, windows[0].partial) == (0.0, 1.5, True)
    assert len(windows[0].frames) == 8  # spread over the 1.5 s that exist
    assert windows[0].frames[-1].pts > 1.2


def test_events_and_progress_for_a_file(clip_dir):
    events, progress = [], []
    config = ingest.IngestConfig(window_seconds=4.0)
    windows = list(ingest.iter_windows(str(clip_dir / "long.mkv"), "s", config,
                                       on_event=events.append, on_progress=progress.append))
    assert [e.state for e in events] == [StreamState.CONNECTING, StreamState.LIVE, StreamState.ENDED]
    assert events[-1].detail == "end of stream" and events[0].extra["kind"] == "file"
    assert len(progress) >= 12  # about every 0.5 s of a 12 s file, enough for a progress bar
    assert all(p.duration == 12.0 and not p.live for p in progress)
    positions = [p.position for p in progress]
    assert positions == sorted(positions) and positions[-1] == pytest.approx(12.0)
    assert progress[-1].windows == len(windows) == 3


def test_stop_ends_a_file_early_and_closes_it(clip_dir):
    stop = threading.Event()
    events = []
    seen = []
    for window in ingest.iter_windows(str(clip_dir / "long.mkv"), "s", ingest.IngestConfig(window_seconds=2.0),
                                      on_event=events.append, stop=stop):
        seen.append(window)
        stop.set()
    assert 1 <= len(seen) <= 2  # the window in flight may still be delivered, partial
    assert events[-1].state is StreamState.ENDED and events[-1].detail == "stopped"


def test_consumer_closing_the_generator_ends_the_stream(clip_dir):
    events = []
    gen = ingest.iter_windows(str(clip_dir / "long.mkv"), "s", ingest.IngestConfig(window_seconds=2.0),
                              on_event=events.append)
    next(gen)
    gen.close()
    assert events[-1].state is StreamState.ENDED and "closed" in events[-1].detail


def test_file_url_and_probe(clip_dir):
    path = clip_dir / "moving.webm"
    info = ingest.probe(f"file://{path}")
    assert (info.kind, info.codec, info.fps, info.duration) == ("file", "vp9", 10.0, 5.0)
    assert len(list(ingest.iter_windows(f"file://{path}", "s", ingest.IngestConfig(window_seconds=5.0)))) == 1


def test_non_integer_frame_rate(tmp_path):
    from fractions import Fraction

    from tests.support.video_fixtures import make_clip

    path = make_clip(tmp_path / "ntsc.mp4", seconds=3.0, fps=Fraction(30000, 1001), size=(160, 120))
    windows = list(ingest.iter_windows(str(path), "s", ingest.IngestConfig(window_seconds=1.0, frames_per_window=3)))
    # 90 frames of 1001/30000 s end at 3.003 s; no frame starts after 3.0, so the windows end there
    assert_covers(windows, video_duration(path), 1.0, end_tol=1001 / 30000)
    assert ingest.probe(str(path)).fps == pytest.approx(29.97, abs=0.01)
