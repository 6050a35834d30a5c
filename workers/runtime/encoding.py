"""Media -> embedding blocks: tiling, one batched vision-tower pass, projector, per-family assembly.

:meth:`MediaEncoder.plan` turns the media parts of a prompt into :class:`Job`s (pixels
to encode plus a ``finish`` step); :meth:`MediaEncoder.encode` runs the tower once
over the tiles of all jobs of a whole batch (in chunks of ``vision_batch``), the
projector once over all tiles that need no S2 merge first, and hands each job its
features. ``finish`` returns the (n, H) blocks that replace the
prompt's placeholders, in order.

NVILA code: a block is ``[visual tokens][embed("\\n")]`` per image/tile, a video is
one block (``BasicVideoEncoder``: every frame followed by the newline embedding;
``TSPVideoEncoder``: frames mean-pooled in groups first). On ``dynamic_s2`` models an
untiled image's features are repeated once per scale on channels. Legacy code:
a block is just the visual tokens (the ``"\\n"`` is prompt text), a video is one
block per frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from PIL import Image

from workers.runtime import frames as frame_sampling
from workers.runtime import s2, tiling
from workers.runtime.families import LEGACY, NVILA
from workers.runtime.media import IMAGE
from workers.runtime.projectors import Projector
from workers.runtime.prompting import Part, Video
from workers.runtime.vision import ImageProcessor, VisionTower


@dataclass(frozen=True)
class MediaSettings:
    """The config values that shape media handling (see ``checkpoint.VilaConfig``)."""

    generation: str = NVILA
    aspect: str = "resize"
    s2: bool = False
    dynamic_s2: bool = False
    s2_scales: tuple[int, ...] = ()
    s2_split: int = 0
    min_tiles: int = 1
    max_tiles: int = 12
    pool_sizes: tuple[tuple[int, int, int], ...] = ()
    frame_sampling: str = "round-linspace"

    @property
    def temporal_pool(self) -> int:
        return math.lcm(*(p[0] for p in self.pool_sizes)) if self.pool_sizes else 1


@dataclass
class Job:
    """Pixels of one media item and how to turn their features into blocks. ``markup``: NVILA image text.

    ``projected``: ``finish`` takes the projector's output per tile (the projector then runs
    once for all such jobs of a batch); otherwise the tower's features (S2 merges them first).
    """

    tiles: torch.Tensor
    finish: Callable[[torch.Tensor], list[torch.Tensor]]
    markup: str = IMAGE
    projected: bool = False


def temporal_pool(features: torch.Tensor, size: tuple[int, int, int]) -> torch.Tensor:
    """Mean-pool (T, side*side, H) projected frames by (t, h, w) blocks -> (T/t, (side/h)*(side/w), H)."""
    frames, tokens, hidden = features.shape
    side = math.isqrt(tokens)
    x = features.reshape(frames, side, side, hidden)
    for dim, p in enumerate(size):
        if x.shape[dim] % p:
            raise ValueError(f"dimension {dim} of size {x.shape[dim]} is not divisible by pool size {p}")
        x = x.reshape(x.shape[:dim] + (-1, p) + x.shape[dim + 1:]).mean(dim + 1)
    return x.flatten(1, 2)


class MediaEncoder:
    """See the module docstring. ``newline`` returns the current (n, H) newline embedding."""

    def __init__(self, settings: MediaSettings, tower: VisionTower, projector: Projector, processor: ImageProcessor,
                 newline: Callable[[], torch.Tensor], vision_batch: int = 64, *, device: torch.device,
                 dtype: torch.dtype) -> None:
        self.settings, self.tower, self.projector, self.processor = settings, tower, projector, processor
        self.newline = newline
        self.vision_batch = vision_batch
        self.device, self.dtype = device, dtype  # where and in which dtype pixels enter the tower

    # ------------------------------------------------------------------ planning
    def prepare_video(self, video: Video) -> Video:
        """The clip with its final frame list: resampled to ``num_frames`` and to a multiple of the temporal pool."""
        frames = list(video.frames)
        if video.fps and video.video_fps:
            wanted = video.num_frames or len(frames)
            frames = [frames[i] for i in frame_sampling.fps_indices(len(frames), wanted, video.fps, video.video_fps)]
        elif video.num_frames is not None and video.num_frames != len(frames):
            frames = frame_sampling.sample(frames, video.num_frames, self.settings.frame_sampling)
        pool = self.settings.temporal_pool if self.settings.generation == NVILA else 1
        if pool > 1 and len(frames) % pool:
            frames = frame_sampling.sample(frames, frame_sampling.pool_compatible(len(frames), pool),
                                           self.settings.frame_sampling)
        return Video(frames)

    def plan(self, parts: Sequence[Part]) -> list[Job]:
        """Jobs for the media parts, in order (videos already prepared with :meth:`prepare_video`)."""
        # The reference tiles when the prompt holds exactly one image (videos do not count).
        single = sum(1 for p in parts if isinstance(p, Image.Image)) == 1
        jobs: list[Job] = []
        for part in parts:
            if isinstance(part, Video):
                if self.settings.generation == LEGACY:
                    jobs.extend(self._legacy_image(frame) for frame in part.frames)
                else:
                    jobs.append(self._nvila_video(part.frames))
            elif isinstance(part, Image.Image):
                jobs.append(self._legacy_image(part) if self.settings.generation == LEGACY
                            else self._nvila_image(part, single))
        return jobs

    def _legacy_image(self, image: Image.Image) -> Job:
        if not self.settings.s2:
            return Job(self.processor([image]), lambda f: [f[0]], projected=True)
        scales, split = list(self.settings.s2_scales), self.settings.s2_split
        pixels = self.processor([image], size=scales[-1])
        return Job(s2.s2_chunks(pixels, scales, split), lambda f: [self._project(s2.s2_merge(f, scales, split))[0]])

    def _nvila_image(self, image: Image.Image, single: bool) -> Job:
        cfg = self.settings
        if single and cfg.aspect == "dynamic":
            tiles = tiling.dynamic_tiles(image, self.processor.tile, cfg.min_tiles, cfg.max_tiles)
            return Job(self.processor(tiles), lambda f: [self._with_newline(t) for t in f],
                       markup=(IMAGE + "\n") * len(tiles), projected=True)
        if single and cfg.dynamic_s2:
            plan = tiling.dynamic_s2_tiles(image, self.processor.tile, list(cfg.s2_scales), cfg.max_tiles)
            counts = [len(t) for t in plan.per_scale]

            def finish(features: torch.Tensor) -> list[torch.Tensor]:
                blocks = self._project(s2.dynamic_s2_merge(features, counts, plan.grid))
                return [self._with_newline(s2.merge_projected_blocks(blocks, plan.grid))]

            return Job(self.processor([t for scale in plan.per_scale for t in scale]), finish)
        return Job(self.processor([image]), lambda f: [self._with_newline(f[0])], projected=True)

    def _nvila_video(self, frames: Sequence[Image.Image]) -> Job:
        def finish(projected: torch.Tensor) -> list[torch.Tensor]:
            newline = self.newline()
            groups = [temporal_pool(projected, size) for size in self.settings.pool_sizes] or [projected]
            per_frame = [torch.cat([g, newline.unsqueeze(0).expand(g.shape[0], -1, -1).to(g.dtype)], dim=1)
                         for g in groups]
            return [torch.cat([p.reshape(-1, p.shape[-1]) for p in per_frame], dim=0)]

        return Job(self.processor(list(frames)), finish, projected=True)

    # ------------------------------------------------------------------ pieces
    def _widen(self, features: torch.Tensor) -> torch.Tensor:
        """Untiled features on a dynamic-S2 model: repeated once per scale along channels."""
        if self.settings.dynamic_s2:
            return torch.cat([features] * len(self.settings.s2_scales), dim=-1)
        return features

    def _project(self, features: torch.Tensor) -> torch.Tensor:
        return self.projector(features)

    def _with_newline(self, block: torch.Tensor) -> torch.Tensor:
        newline = self.newline()
        return torch.cat([block, newline.to(block.dtype)], dim=0)

    # ------------------------------------------------------------------ running
    def encode(self, jobs: Sequence[Job]) -> list[list[torch.Tensor]]:
        """Blocks of every job; the tower, then the projector, run over all tiles at once (in chunks of
        ``vision_batch``)."""
        if not jobs:
            return []
        pixels = torch.cat([job.tiles for job in jobs], dim=0)
        chunks = [self.tower(pixels[i:i + self.vision_batch].to(self.device, self.dtype))
                  for i in range(0, pixels.shape[0], self.vision_batch)]
        parts = list(torch.split(torch.cat(chunks, dim=0), [job.tiles.shape[0] for job in jobs], dim=0))
        plain = [i for i, job in enumerate(jobs) if job.projected]
        if plain:
            features = self._widen(torch.cat([parts[i] for i in plain], dim=0))
            projected = torch.cat([self._project(features[i:i + self.vision_batch])
                                   for i in range(0, features.shape[0], self.vision_batch)], dim=0)
            for i, part in zip(plain, torch.split(projected, [parts[i].shape[0] for i in plain], dim=0)):
                parts[i] = part
        return [job.finish(part) for job, part in zip(jobs, parts)]
