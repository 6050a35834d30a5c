"""The synthetic scenes shared by the benchmarks and the tests (services/demo/scenes.py)."""
from __future__ import annotations

import av
import numpy as np
import pytest

from services.demo.scenes import make_clip, scene_frames, synthetic_frames


def test_the_square_crosses_left_to_right_and_the_ramp_brightens():
    frames = synthetic_frames("moving-square", 5, (64, 48))
    assert [f.shape for f in frames] == [(48, 64, 3)] * 5 and frames[0].dtype == np.uint8
    white = [np.flatnonzero((f == 250).all(axis=2).any(axis=0)) for f in frames]
    assert white[0][0] == 0 and white[-1][-1] == 63  # from the left edge to the right edge
    assert all(a[0] < b[0] for a, b in zip(white, white[1:]))
    ramp = [f.mean() for f in synthetic_frames("brightness-ramp", 4, (64, 48))]
    assert ramp == sorted(ramp) and ramp[0] < 0.5 * ramp[-1]
    assert np.array_equal(synthetic_frames("static", 3, (64, 48))[0], synthetic_frames("static", 3, (64, 48))[2])
    with pytest.raises(ValueError, match="unknown scene 'rain'"):
        synthetic_frames("rain", 2)


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "h264"), (".ts", "mpeg2video"), (".webm", "vp9")])
def test_make_clip_codec_frames_and_audio_first(tmp_path, suffix, codec):
    path = make_clip(tmp_path / f"c{suffix}", seconds=1.0, fps=10, size=(64, 48), audio=True)
    with av.open(str(path)) as container:
        assert container.streams[0].type == "audio"  # audio first: readers must pick the video stream
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == (codec, 64, 48)
        assert sum(1 for _ in container.decode(video)) == 10


def test_scene_frames_are_deterministic_and_seeded():
    a, b, c = scene_frames(3, seed=2), scene_frames(3, seed=2), scene_frames(3, seed=5)
    assert [f.tobytes() for f in a] == [f.tobytes() for f in b]
    assert a[0].tobytes() != c[0].tobytes() and a[0].tobytes() != a[1].tobytes()  # seeded, and it moves
    assert a[0].size == (96, 72) and a[0].mode == "RGB"
