"""The window assembler on synthetic frame times (no codec involved)."""
import math

import pytest

from ingest.windower import WindowAssembler, last_window_index


def run(times, window_s, stride_s=None, *, n=None, fps=None, end=None, end_hint=None):
    converted = []

    def convert(frame, t):
        converted.append(frame)
        return (frame, t)

    asm = WindowAssembler(window_s, stride_s or window_s, frames_per_window=n, fps=fps,
                          convert=convert, end_hint=end_hint)
    out = []
    for i, t in enumerate(times):
        out.extend(asm.push(t, i))
    out.extend(asm.finish(end if end is not None else times[-1] + 0.1))
    return out, converted


def frames_at(fps, seconds):
    return [i / fps for i in range(int(round(seconds * fps)))]


def test_windows_tile_the_stream_and_the_last_is_partial():
    windows, _ = run(frames_at(10, 20.0), 8.0, n=4, end=20.0)
    assert [(w.index, w.start, w.end, w.partial) for w in windows] == [
        (0, 0.0, 8.0, False), (1, 8.0, 16.0, False), (2, 16.0, 20.0, True)]


def test_exact_multiple_has_no_partial_window():
    windows, _ = run(frames_at(10, 16.0), 8.0, n=4, end=16.0)
    assert [(w.start, w.end, w.partial) for w in windows] == [(0.0, 8.0, False), (8.0, 16.0, False)]


def test_clip_shorter_than_a_window_is_one_partial_window():
    windows, _ = run(frames_at(10, 2.5), 8.0, n=4, end=2.5, end_hint=2.5)
    assert len(windows) == 1
    w = windows[0]
    assert (w.start, w.end, w.partial) == (0.0, 2.5, True)
    # targets were spread over the 2.5 s that exist, not over the nominal 8 s
    assert [t for _, t in w.items] == pytest.approx([0.3, 0.9, 1.6, 2.2])


def test_overlapping_windows_and_no_duplicate_tail():
    # W=4, S=2 over 9 s: [0,4) [2,6) [4,8) [6,9) -- a window at 8 would only repeat [6,9)'s tail
    windows, _ = run(frames_at(10, 9.0), 4.0, 2.0, n=4, end=9.0)
    assert [(w.start, w.end, w.partial) for w in windows] == [
        (0.0, 4.0, False), (2.0, 6.0, False), (4.0, 8.0, False), (6.0, 9.0, True)]
    # 8 s: the window [4,8) reaches the end; nothing after it
    windows, _ = run(frames_at(10, 8.0), 4.0, 2.0, n=4, end=8.0)
    assert [(w.start, w.end) for w in windows] == [(0.0, 4.0), (2.0, 6.0), (4.0, 8.0)]


def test_last_window_index():
    assert last_window_index(20.0, 8.0, 8.0) == 2
    assert last_window_index(16.0, 8.0, 8.0) == 1
    assert last_window_index(3.0, 8.0, 8.0) == 0
    assert last_window_index(9.0, 4.0, 2.0) == 3


def test_n_uniform_picks_the_nearest_frames():
    windows, _ = run(frames_at(10, 8.0), 8.0, n=4, end=8.0)
    assert [t for _, t in windows[0].items] == pytest.approx([1.0, 3.0, 5.0, 7.0])
    # brute-force oracle: the nearest frame to each target, ties to the earlier one
    for fps in (3, 7, 29.97):
        times = frames_at(fps, 8.0)
        windows, _ = run(times, 8.0, n=8, end=8.0)
        expected = [min(times, key=lambda f: (round(abs(f - (i + 0.5)), 9), f)) for i in range(8)]
        assert [t for _, t in windows[0].items] == pytest.approx(expected), fps


def test_fps_mode_samples_at_the_requested_rate():
    windows, _ = run(frames_at(30, 4.0), 2.0, fps=2.0, n=None, end=4.0)
    assert [[t for _, t in w.items] for w in windows] == [
        pytest.approx([0.0, 0.5, 1.0, 1.5]), pytest.approx([2.0, 2.5, 3.0, 3.5])]


def test_source_slower_than_the_sampling_rate_uses_each_frame_once():
    windows, converted = run(frames_at(2, 4.0), 4.0, n=16, end=4.0)
    assert [t for _, t in windows[0].items] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    assert len(converted) == len(set(converted)) == 8


def test_only_sampled_frames_are_converted_and_shared_frames_once():
    times = frames_at(25, 12.0)
    windows, converted = run(times, 4.0, 2.0, fps=1.0, end=12.0)
    # 1 fps over 12 s = 12 grid points; overlapping windows share them: converted once each
    assert len(converted) == len(set(converted)) == 12
    assert len(converted) < len(times) / 10
    shared = {f for f, _ in windows[0].items} & {f for f, _ in windows[1].items}
    assert shared == {50, 75}  # the frames at 2 s and 3 s


def test_times_must_increase():
    asm = WindowAssembler(1.0, 1.0, frames_per_window=2, fps=None, convert=lambda f, t: f)
    asm.push(0.5, "a")
    with pytest.raises(ValueError):
        asm.push(0.5, "b")


def test_outage_closes_windows_and_skips_empty_ones():
    asm = WindowAssembler(1.0, 1.0, frames_per_window=2, fps=None, convert=lambda f, t: t)
    for i in range(15):  # frames 0.0 .. 1.4
        assert all(w.index == 0 for w in asm.push(i / 10, i))
    # the source drops at 1.4; time passes without frames
    closed = asm.advance(1.9)
    assert closed == []  # [1, 2) is not over yet
    closed = asm.advance(2.05)
    assert [(w.index, w.items) for w in closed] == [(1, (1.2, 1.4))]
    # frames resume at 4.3: the windows [2,3) and [3,4) had no frame and are not emitted
    out = []
    for i in range(43, 56):
        out.extend(asm.push(i / 10, i))
    out.extend(asm.finish(5.6))
    assert [w.index for w in out] == [4, 5]
    assert out[-1].partial and math.isclose(out[-1].end, 5.6)


def test_stream_ending_before_every_target_still_keeps_its_tail():
    # planned for [4, 6) (the header promised 8 s) but the data stops at 4.2 s
    times = frames_at(10, 4.2)
    windows, _ = run(times, 2.0, n=4, end=4.2, end_hint=8.0)
    assert [(w.start, w.end, w.partial) for w in windows][-1] == (4.0, pytest.approx(4.2), True)
    assert [t for _, t in windows[-1].items] == pytest.approx([4.1])
