"""Resizing (max side, aspect, never upscale) and JPEG encoding of sampled frames."""
import av
import numpy as np
import pytest

import ingest
from ingest.encode import FrameEncoder, fit_within
from tests.ingest.helpers import jpeg_size
from tests.support.video_fixtures import synthetic_frames


@pytest.mark.parametrize("size,max_side,expected", [
    ((1280, 720), 448, (448, 252)),
    ((720, 1280), 448, (252, 448)),   # portrait
    ((320, 240), 448, (320, 240)),    # never upscaled
    ((640, 480), 64, (64, 48)),
])
def test_fit_within(size, max_side, expected):
    assert fit_within(*size, max_side) == expected


def test_fit_within_uses_the_display_aspect_of_non_square_pixels():
    # 720x576 PAL with 16:9 display aspect: shown as 1024x576
    assert fit_within(720, 576, 448, aspect=16 / 9) == (448, 252)


def test_encoder_output_is_a_jpeg_of_the_right_size_and_quality_matters():
    rgb = synthetic_frames("moving-square", 3, (640, 480))[1]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    low = FrameEncoder(max_side=200, quality=20)(frame, 1.2345678)
    high = FrameEncoder(max_side=200, quality=95)(frame, 1.2345678)
    assert jpeg_size(low.frame.jpeg) == (200, 150) == (low.frame.width, low.frame.height)
    assert len(high.frame.jpeg) > 1.5 * len(low.frame.jpeg)
    assert low.frame.pts == pytest.approx(1.234568)
    assert low.thumb.shape == (48, 64) and low.thumb.dtype == np.uint8


def test_windows_respect_max_side_and_quality(clip_dir):
    small = ingest.IngestConfig(window_seconds=5.0, frames_per_window=2, max_side=100, jpeg_quality=30)
    window = next(iter(ingest.iter_windows(str(clip_dir / "moving.mp4"), "s", small)))
    assert all(jpeg_size(f.jpeg) == (100, 75) == (f.width, f.height) for f in window.frames)
    big = ingest.IngestConfig(window_seconds=5.0, frames_per_window=2, max_side=1000, jpeg_quality=95)
    window_big = next(iter(ingest.iter_windows(str(clip_dir / "moving.mp4"), "s", big)))
    assert all(jpeg_size(f.jpeg) == (320, 240) for f in window_big.frames)  # not upscaled
