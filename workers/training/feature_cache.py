"""Tower outputs of training clips while the tower is frozen (stages 1 and 2).

With the vision tower frozen, a clip's tower output never changes, yet a stage
draws each clip several times: reading its frames, preprocessing them and
running the tower once per clip instead of once per draw saves about a quarter
of a frozen-tower step on the tiny model. The tower is in eval mode in these
stages, so a cached output equals a recomputed one.
"""
from __future__ import annotations

from typing import Sequence

import torch

from workers.training.batching import TurnEncoder
from workers.training.data import Sample, load_frames


def media_key(sample: Sample) -> tuple:
    """What identifies a sample's pixels (two datasets may share a clip's frames)."""
    return sample.frames or (sample.video_file,)


class TowerCache:
    """``outputs(samples)``: each sample's tower output (frames, tokens, width), computed on first use
    through ``encoder`` (the stage's :class:`TurnEncoder`)."""

    def __init__(self, encoder: TurnEncoder, frames: int) -> None:
        self.encoder, self.frames = encoder, frames
        self._store: dict[tuple, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    def outputs(self, samples: Sequence[Sample]) -> list[torch.Tensor]:
        missing = list({media_key(s): s for s in samples if media_key(s) not in self._store}.values())
        if missing:
            with torch.no_grad():
                outputs = self.encoder.tower_outputs([load_frames(s, self.frames) for s in missing])
            for sample, output in zip(missing, outputs):
                self._store[media_key(sample)] = output.clone()
        return [self._store[media_key(s)] for s in samples]
