"""Renders the demo clip (see the package docstring)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def render_frames(seconds: float = 6.0, fps: int = 10, size: tuple[int, int] = (320, 240), seed: int = 0):
    """Yields RGB uint8 frames (H, W, 3) of the demo scene, deterministically from ``seed``."""
    w, h = size
    rng = np.random.default_rng(seed)
    texture = rng.normal(0.0, 6.0, size=(h // 8 + 1, w // 8 + 1)).repeat(8, 0).repeat(8, 1)[:h, :w]
    background = np.clip(118.0 + texture, 0, 255)
    yy, xx = np.mgrid[0:h, 0:w]
    radius = 0.09 * h
    n = int(seconds * fps)
    for i in range(n):
        frame = np.repeat(background[:, :, None], 3, axis=2)
        # blue square, still
        s = int(0.18 * h)
        x0, y0 = int(0.15 * w), int(0.6 * h)
        frame[y0:y0 + s, x0:x0 + s] = (40, 60, 220)
        # red circle, right to left
        cx = w * (0.85 - 0.7 * i / max(1, n - 1))
        cy = 0.35 * h
        frame[(xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2] = (220, 40, 40)
        frame += rng.normal(0.0, 3.0, size=frame.shape)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def write_demo_clip(out: Path, seconds: float = 6.0, fps: int = 10) -> Path:
    """Writes the demo clip as H.264 MP4 to ``out`` and returns it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = 320, 240
        stream.pix_fmt = "yuv420p"
        for rgb in render_frames(seconds, fps):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out
