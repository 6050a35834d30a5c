"""A window's frames as the model sees them: the sampled JPEGs decoded to RGB (the engine's only decoder)."""
from __future__ import annotations

import io

from PIL import Image

from core.errors import InvalidRequest
from core.types import FrameWindow
from workers.runtime.frames import window_indices


def decode_sampled(window: FrameWindow, wanted: int) -> list[Image.Image]:
    """The ``wanted`` frames ``window_indices`` picks, decoded; only those are decoded.

    InvalidRequest naming the first frame that is not a decodable JPEG, or a window with no frames.
    """
    if not window.frames:
        raise InvalidRequest("window has no frames")
    images = []
    for index in window_indices(len(window.frames), wanted):
        try:
            with Image.open(io.BytesIO(window.frames[index].jpeg)) as image:
                images.append(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise InvalidRequest(f"frame {index} is not a decodable JPEG") from None
    return images
