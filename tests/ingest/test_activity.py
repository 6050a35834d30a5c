"""Activity: a global brightness ramp scores low, a moving object scores high.

Numbers come from the synthetic scenes of tests/support/video_fixtures.py, first as
raw frames (the formula alone), then through the real decode path (H.264 clips).
"""
import numpy as np
import pytest

import ingest
from ingest.activity import activity_score, change_fraction, normalise, thumbnail_size
from tests.support.video_fixtures import synthetic_frames


def thumbs(scene, n=8):
    from PIL import Image

    out = []
    for rgb in synthetic_frames(scene, n, (320, 240)):
        image = Image.fromarray(rgb).convert("L").resize(thumbnail_size(320, 240), Image.BOX)
        out.append(np.asarray(image))
    return out


def test_brightness_ramp_scores_low_and_moving_square_high():
    ramp = activity_score(thumbs("brightness-ramp"))
    moving = activity_score(thumbs("moving-square"))
    static = activity_score(thumbs("static"))
    assert static == 0.0
    assert ramp < 0.05, ramp
    assert moving > 0.8, moving


def test_naive_differencing_would_be_fooled_by_the_ramp():
    # Why the normalisation exists: raw gray differences of the ramp are large everywhere.
    frames = [t.astype(np.float32) for t in thumbs("brightness-ramp")]
    raw_changed = np.mean(np.abs(frames[0] - frames[-1]) > 10)
    assert raw_changed > 0.5
    assert change_fraction(normalise(frames[0]), normalise(frames[-1])) < 0.02


def test_score_bounds_and_degenerate_windows():
    assert activity_score([]) == 0.0
    assert activity_score(thumbs("moving-square")[:1]) == 0.0
    noise = [np.random.default_rng(i).integers(0, 256, (48, 64)).astype(np.uint8) for i in range(6)]
    assert 0.99 < activity_score(noise) <= 1.0
    flat = [np.full((48, 64), v, np.uint8) for v in (10, 40, 90)]  # uniform frames, brightness jumping
    assert activity_score(flat) == 0.0


def test_activity_through_decoding(clip_dir):
    config = ingest.IngestConfig(window_seconds=4.0, frames_per_window=8)
    scores = {name: next(iter(ingest.iter_windows(str(clip_dir / name), "s", config))).activity
              for name in ("ramp.mp4", "static.mp4", "moving.mp4")}
    assert scores["static.mp4"] < 0.05, scores
    assert scores["ramp.mp4"] < 0.1, scores
    assert scores["moving.mp4"] > 0.7, scores


@pytest.mark.parametrize("size,expected", [((320, 240), (64, 48)), ((1280, 720), (64, 36)), ((32, 20), (32, 20))])
def test_thumbnail_size(size, expected):
    assert thumbnail_size(*size) == expected
