"""Prompt parts and the two reference ways of turning them into token ids.

A prompt is a sequence of parts: ``str`` text, ``PIL.Image`` images and
:class:`Video` clips, in order. Literal media strings typed in text are removed
(the reference deletes them and strips that part).

- NVILA code (``nvila``): an image part becomes ``<image>`` (``"<image>\\n" * tiles``
  for a single tiled image), a video ``<vila/video>``; the rendered prompt is
  tokenized in one call, the media tokens being added special tokens.
- Legacy VILA1.5 code (``legacy``): an image part becomes ``"<image>\\n"``, a video
  ``"<image>\\n"`` per frame; :func:`legacy_ids` splits the rendered prompt on
  ``<image>``, tokenizes every chunk on its own, keeps the first chunk's BOS,
  drops the BOS of later chunks and puts ``IMAGE_TOKEN_INDEX`` (-200) between chunks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

from PIL import Image

from workers.runtime.media import IMAGE, MEDIA_TOKENS, VIDEO

IMAGE_TOKEN_INDEX = -200


@dataclass(frozen=True)
class Video:
    """A clip: its frames in order.

    ``num_frames`` resamples them uniformly with the family's method; with ``fps`` and
    ``video_fps`` (the rate of ``frames``) the first ``num_frames`` (default all) frames on an
    ``fps`` grid are taken instead, as NVILA does when ``fps > 0``.
    """

    frames: Sequence[Image.Image]
    num_frames: int | None = None
    fps: float | None = None
    video_fps: float | None = None


Part = Union[str, Image.Image, Video]


def strip_media(text: str) -> str:
    """``text`` without literal media placeholders (then stripped of outer spaces, as the reference does)."""
    for token in MEDIA_TOKENS:
        if token in text:
            text = text.replace(token, "").strip()
    return text


def nvila_message(parts: Sequence[Part], image_markup: Sequence[str]) -> str:
    """User message of the NVILA code; ``image_markup[i]`` is the text of the i-th image part.

    That is ``<image>``, or ``"<image>\\n" * tiles`` for the only image of a ``dynamic`` model.
    """
    out, index = [], 0
    for part in parts:
        if isinstance(part, str):
            out.append(strip_media(part))
        elif isinstance(part, Video):
            out.append(VIDEO)
        else:
            out.append(image_markup[index])
            index += 1
    return "".join(out)


def legacy_message(parts: Sequence[Part]) -> str:
    """User message of the VILA1.5 code: ``"<image>\\n"`` per image and per video frame, text as given."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(strip_media(part))
        elif isinstance(part, Video):
            out.append((IMAGE + "\n") * len(part.frames))
        else:
            out.append(IMAGE + "\n")
    return "".join(out)


def legacy_ids(tokenizer: Any, prompt: str) -> list[int]:
    """``tokenizer_image_token`` of the VILA1.5 code (see the module docstring)."""
    chunks = [list(tokenizer(chunk).input_ids) for chunk in prompt.split(IMAGE)]
    bos = tokenizer.bos_token_id
    offset = 1 if chunks and chunks[0] and bos is not None and chunks[0][0] == bos else 0
    ids: list[int] = [chunks[0][0]] if offset else []
    for index, chunk in enumerate(chunks):
        if index:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(chunk[offset:])
    return ids
