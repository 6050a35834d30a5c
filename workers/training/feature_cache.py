"""What a training run reads many times, computed once: frames as model-size pixels, and a frozen tower's outputs.

``FrameStore`` holds every frame a run has read as the processor's prepared
pixels (uint8, the model's input size: 12 KB a frame at 64 px), so neither the
vision warm-up nor a stage decodes a PNG or resizes an image twice. With the
vision tower frozen (stages 1 and 2) a clip's tower output never changes, yet a
stage draws each clip several times: ``TowerCache`` runs the tower once per
clip. The tower is in eval mode in these stages, so a cached output equals a
recomputed one.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from workers.runtime.vision import ImageProcessor
from workers.training.batching import TurnEncoder
from workers.training.data import Sample, decode_video


def media_key(sample: Sample) -> tuple:
    """What identifies a sample's frames as the tower sees each one (two datasets may share a clip's frames;
    a reversed view shows the same frames in another order)."""
    return (sample.media, sample.mirror)


class FrameStore:
    """Prepared pixels of stored frames and of samples, each read and resized once."""

    def __init__(self, processor: ImageProcessor, frames: int) -> None:
        self.processor, self.frames = processor, frames
        self._frames: dict[Path, np.ndarray] = {}
        self._videos: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._frames) + len(self._videos)

    def frame(self, path: Path) -> np.ndarray:
        """(H, W, 3) uint8: the stored frame at ``path`` as the processor prepares it."""
        if path not in self._frames:
            with Image.open(path) as image:
                self._frames[path] = np.asarray(self.processor.prepare(image))
        return self._frames[path]

    def clip(self, sample: Sample) -> np.ndarray:
        """(frames, H, W, 3) uint8: the sample's stored frames, or ``frames`` sampled from its video file, as
        its view shows them (mirrored, reversed)."""
        if sample.video_file is None:
            clip = np.stack([self.frame(path) for path in sample.frames])
        else:
            if sample.video_file not in self._videos:
                images = decode_video(sample.video_file, self.frames)
                self._videos[sample.video_file] = np.stack([np.asarray(self.processor.prepare(i)) for i in images])
            clip = self._videos[sample.video_file]
        if sample.mirror:
            clip = clip[:, :, ::-1]
        return clip[::-1] if sample.reverse else clip

    def pixels(self, samples: Sequence[Sample]) -> tuple[torch.Tensor, list[int]]:
        """The samples' frames as one (N, 3, H, W) tower input, and each sample's frame count."""
        clips = [self.clip(s) for s in samples]
        return self.processor.normalize(np.concatenate(clips)), [len(c) for c in clips]


class TowerCache:
    """``outputs(samples)``: each sample's tower output (frames, tokens, width), computed on first use
    through ``encoder`` (the stage's :class:`TurnEncoder`) from ``store``'s pixels. The tower sees one frame
    at a time, so a reversed view's output is the stored order's, reversed."""

    def __init__(self, encoder: TurnEncoder, store: FrameStore) -> None:
        self.encoder, self.store = encoder, store
        self._outputs: dict[tuple, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._outputs)

    def outputs(self, samples: Sequence[Sample]) -> list[torch.Tensor]:
        missing = list({media_key(s): replace(s, reverse=False) for s in samples
                        if media_key(s) not in self._outputs}.values())
        if missing:
            with torch.no_grad():
                outputs = self.encoder.tower_outputs_of(*self.store.pixels(missing))
            for sample, output in zip(missing, outputs):
                self._outputs[media_key(sample)] = output.clone()
        return [self._outputs[media_key(s)].flip(0) if s.reverse else self._outputs[media_key(s)] for s in samples]
