"""Turn a chosen decoded frame into a JPEG ``Frame`` plus a grayscale thumbnail.

Only frames a window picked come here (see ``ingest.windower``); every other
decoded frame is dropped without any colour conversion or scaling.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

from ingest.activity import thumbnail_size
from core.types import Frame


@dataclass(frozen=True)
class Sampled:
    """A sampled frame: the JPEG that goes downstream and the thumbnail activity uses."""

    frame: Frame
    thumb: np.ndarray


def fit_within(width: int, height: int, max_side: int, aspect: float | None = None) -> tuple[int, int]:
    """Output size with max(w, h) <= max_side, the display aspect kept, never upscaled.

    ``aspect`` is the display width/height (differs from width/height for
    non-square pixels, e.g. anamorphic SD); None means square pixels.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad frame size {width}x{height}")
    display_w = width if not aspect else height * aspect
    scale = min(1.0, max_side / max(display_w, height))
    return max(1, round(display_w * scale)), max(1, round(height * scale))


def encode_jpeg(rgb: np.ndarray | av.VideoFrame, quality: int) -> bytes:
    """JPEG bytes of an RGB image (already at its output size): an rgb24 frame or an (h, w, 3) array."""
    # to_ndarray + fromarray is about 3x cheaper than VideoFrame.to_image (measured).
    array = rgb.to_ndarray() if isinstance(rgb, av.VideoFrame) else rgb
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)  # (h, w, 3) uint8 -> RGB
    return buffer.getvalue()


class FrameEncoder:
    """Callable ``(av.VideoFrame, t) -> Sampled`` with the stream's output settings."""

    def __init__(self, *, max_side: int, quality: int, aspect: float | None = None) -> None:
        self.max_side, self.quality, self.aspect = max_side, quality, aspect

    def __call__(self, frame: av.VideoFrame, t: float) -> Sampled:
        width, height = fit_within(frame.width, frame.height, self.max_side, self.aspect)
        # swscale converts and scales in one pass; AREA averages when shrinking, so no aliasing.
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
        jpeg = encode_jpeg(rgb, self.quality)
        tw, th = thumbnail_size(width, height)
        # From the already shrunk RGB frame: scaling a 448 px image is far cheaper than the original.
        thumb = rgb.reformat(width=tw, height=th, format="gray", interpolation="AREA").to_ndarray()
        return Sampled(Frame(jpeg=jpeg, pts=round(t, 6), width=width, height=height), thumb)
