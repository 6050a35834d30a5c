"""LLaVA-style JSON datasets: image-text pairs, video-text pairs and instruction conversations.

A dataset file is a JSON list of records::

    {"id": "...", "image": "a.png" | "video": "clip.mp4" or "frames/dir",
     "conversations": [{"from": "human", "value": "<video>\\nQuestion"}, {"from": "gpt", "value": "Answer"}, ...]}

Paths are relative to the file's folder. A record without media is text-only.
Two optional keys make a record a new view of its media: ``"mirror": true``
(every frame flipped left to right) and ``"reverse": true`` (the frames in
reverse order); its turns describe what that view shows.
``<image>``/``<video>`` placeholders are removed from the human turns: the
runtime's prompt puts the media first (``<vila/video>`` + question), and a
conversation is trained turn by turn, each turn with the clip, which is how the
runtime asks. An image is a one-frame video (the runtime has one media path).
A video folder holds frames named in order; a video file is decoded and
``frames`` instants are sampled at slot centres, like ``ingest``.

Failure modes: ``InvalidInput`` naming the file (and record) for malformed JSON,
a record without turns, or media that does not exist.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image

from core.errors import InvalidInput

PLACEHOLDERS = ("<image>", "<video>")
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@dataclass(frozen=True)
class Sample:
    """One record: its media (frame files, or a video file) and its (question, answer) turns."""

    id: str
    frames: tuple[Path, ...]
    video_file: Path | None
    turns: tuple[tuple[str, str], ...]
    mirror: bool = False  # frames flipped left to right
    reverse: bool = False  # frames in reverse order

    @property
    def has_media(self) -> bool:
        return bool(self.frames) or self.video_file is not None

    @property
    def media(self) -> tuple:
        """The stored media it shows, whatever its view: its frame files, or its video file."""
        return self.frames or (self.video_file,)


@functools.lru_cache(maxsize=4096)  # a dataset asks the same few hundred questions many times
def _clean(text: str) -> str:
    for tag in PLACEHOLDERS:
        text = text.replace(tag, "")
    return text.strip()


def _turns(record: dict, where: str) -> tuple[tuple[str, str], ...]:
    messages = record.get("conversations")
    if not isinstance(messages, list) or len(messages) < 2:
        raise InvalidInput(f"{where}: 'conversations' must hold at least one human/gpt pair")
    pairs = []
    for human, gpt in zip(messages[0::2], messages[1::2]):
        if human.get("from") != "human" or gpt.get("from") != "gpt":
            raise InvalidInput(f"{where}: turns must alternate 'human' and 'gpt'")
        pairs.append((_clean(str(human.get("value", ""))), str(gpt.get("value", "")).strip()))
    return tuple(pairs)


def _media(record: dict, root: Path, where: str,
           folders: dict[Path, tuple[Path, ...]]) -> tuple[tuple[Path, ...], Path | None]:
    if "image" in record:
        path = root / record["image"]
        if not path.is_file():
            raise InvalidInput(f"{where}: image {path} does not exist")
        return (path,), None
    if "video" in record:
        path = root / record["video"]
        if path in folders:  # views of a clip share its folder: list it once
            return folders[path], None
        if path.is_dir():
            frames = tuple(sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES),
                                  key=lambda p: (len(p.stem), p.stem)))
            folders[path] = frames
            if not frames:
                raise InvalidInput(f"{where}: video folder {path} holds no frames")
            return frames, None
        if path.is_file():
            return (), path
        raise InvalidInput(f"{where}: video {path} does not exist")
    return (), None


def _flag(record: dict, key: str, where: str) -> bool:
    value = record.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: {key!r} must be true or false, not {value!r}")
    if value and not ("image" in record or "video" in record):
        raise InvalidInput(f"{where}: {key!r} needs an image or a video")
    return value


def read_dataset(path: str | Path) -> list[Sample]:
    """Every record of the LLaVA-style JSON file at ``path`` (see the module docstring)."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable JSON dataset: {exc}") from None
    if not isinstance(records, list):
        raise InvalidInput(f"{path}: a dataset is a JSON list of records")
    samples, folders = [], {}
    for i, record in enumerate(records):
        where = f"{path} record {i}"
        if not isinstance(record, dict):
            raise InvalidInput(f"{where}: not a JSON object")
        frames, video = _media(record, path.parent, where, folders)
        mirror, reverse = (_flag(record, key, where) for key in ("mirror", "reverse"))
        samples.append(Sample(str(record.get("id", i)), frames, video, _turns(record, where), mirror, reverse))
    return samples


def load_frames(sample: Sample, count: int) -> list[Image.Image]:
    """The sample's frames as RGB images, as its view shows them: all stored frames, or ``count`` sampled
    from its video file."""
    if sample.video_file is not None:
        images = decode_video(sample.video_file, count)
    else:
        images = []
        for path in sample.frames:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
    if sample.mirror:
        images = [image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for image in images]
    return images[::-1] if sample.reverse else images


def decode_video(path: Path, count: int) -> list[Image.Image]:
    """``count`` frames of the video at ``path`` nearest to the slot centres ``(k + 0.5) / count``."""
    import av

    try:
        with av.open(str(path)) as container:
            decoded = [(float(f.time or 0.0), f.to_image()) for f in container.decode(video=0)]
    except av.FFmpegError as exc:
        raise InvalidInput(f"{path}: cannot decode video: {exc}") from None
    if not decoded:
        raise InvalidInput(f"{path}: no video frames")
    step = decoded[1][0] - decoded[0][0] if len(decoded) > 1 else 1.0
    duration = decoded[-1][0] - decoded[0][0] + step
    picked: list[int] = []
    for k in range(count):
        target = decoded[0][0] + (k + 0.5) * duration / count
        best = min(range(len(decoded)), key=lambda j: (abs(decoded[j][0] - target), j))
        if best not in picked:
            picked.append(best)
    return [decoded[j][1].convert("RGB") for j in picked]


def text_pairs(samples: Sequence[Sample]) -> list[tuple[str, str]]:
    """Every (question, answer) turn of ``samples``, for text-only training."""
    return [turn for sample in samples for turn in sample.turns]
