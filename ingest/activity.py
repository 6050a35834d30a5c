"""Activity score of a window: how much the scene changed inside it, in [0, 1] (pure).

Computed on the window's sampled frames, as small grayscale thumbnails
(max side ``THUMB_SIDE`` px, area-averaged, which also smooths sensor and
compression noise):

    z_i  = (g_i - mean(g_i)) / max(std(g_i), SIGMA_FLOOR)       per-frame normalisation
    c_i  = fraction of pixels with |z_i - z_(i-1)| > TAU          change between consecutive samples
    activity = 1 - exp(-mean_i(c_i) / C0)                         0 for no change, -> 1 for a lot

Normalising each frame to zero mean and unit variance makes the score blind to
a global gain and offset of brightness (auto-exposure, clouds, lights dimming):
a brightness ramp of a static scene keeps z_i unchanged and scores ~0, while a
moving object changes z where it was and where it is. ``SIGMA_FLOOR`` keeps an
almost uniform frame (a dark scene) from amplifying noise to "change". ``C0``
sets the scale: when on average 2 % of the picture changes between consecutive
samples, activity = 0.63; 5 % gives 0.92. A window with fewer than two frames
scores 0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

THUMB_SIDE = 64
SIGMA_FLOOR = 8.0  # gray levels
TAU = 0.5  # in units of the frame's own standard deviation
C0 = 0.02


def thumbnail_size(width: int, height: int, side: int = THUMB_SIDE) -> tuple[int, int]:
    """(w, h) with max(w, h) == side (never upscaled), aspect kept, at least 1 px."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def normalise(gray: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance version of a grayscale image (float32)."""
    g = gray.astype(np.float32)
    return (g - g.mean()) / max(float(g.std()), SIGMA_FLOOR)


def change_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that changed between two normalised thumbnails of one size."""
    if a.shape != b.shape:
        raise ValueError(f"thumbnail sizes differ: {a.shape} vs {b.shape}")
    return float(np.mean(np.abs(a - b) > TAU))


def activity_score(thumbnails: Sequence[np.ndarray]) -> float:
    """Activity in [0, 1] of a window from its grayscale thumbnails in time order."""
    if len(thumbnails) < 2:
        return 0.0
    z = [normalise(t) for t in thumbnails]
    changes = [change_fraction(a, b) for a, b in zip(z, z[1:]) if a.shape == b.shape]
    if not changes:  # the resolution changed mid-window (a reconnect to another profile)
        return 0.0
    return float(1.0 - np.exp(-float(np.mean(changes)) / C0))
