"""Frames as the worker receives them: the ingest path (fit within ``max_side``, JPEG), then the model's resize.

``ingest`` resizes a decoded frame so that max(width, height) <= 448 (area
interpolation) and encodes it as JPEG quality 85; the worker decodes that JPEG.
``window_images`` reproduces this for the sampled frames of a scene, then
optionally applies the checkpoint's ``ImageProcessor.prepare`` (its square
resize), which is the part a dataset can store ahead of training.
"""
from __future__ import annotations

import io
from typing import Callable

from PIL import Image

from workers.training.scenes.render import render_frame, sample_times
from workers.training.scenes.spec import ScenePlan, at_most

MAX_SIDE, JPEG_QUALITY = 448, 85


def ingest_image(array) -> Image.Image:
    """An (H, W, 3) uint8 frame after ingest's resize and JPEG round trip."""
    image = Image.fromarray(array)
    scale = min(1.0, MAX_SIDE / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BOX)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def window_images(plan: ScenePlan, count: int, prepare: Callable[[Image.Image], Image.Image] | None = None,
                  *, max_side: int | None = None) -> list[Image.Image]:
    """The ``count`` sampled frames of ``plan`` through the ingest path (and ``prepare`` when given).

    ``max_side`` renders the scene smaller first (``spec.at_most``), for training data.
    """
    plan = at_most(plan, max_side)
    images = [ingest_image(render_frame(plan, i)) for i in sample_times(plan, count)]
    return [prepare(image) for image in images] if prepare else images
