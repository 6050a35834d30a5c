"""Multi-scale (S2) vision features: VILA1.5-3b-s2's fixed S2 and NVILA's dynamic S2.

Tiles are always encoded by the vision tower as independent square images; these
functions only cut pixels into tiles and put tile features back together.
Feature maps are (B, C, H, W); tile lists are stacked on the batch dimension,
row-major (the order of the reference's ``split_chessboard``). Interpolation runs
in float32 and is cast back to the input dtype.

Fixed S2 (``s2: true``): the image at the largest scale is resized (bicubic) to
every scale, cut into ``split``-pixel chunks, encoded, merged back, resized
(``area``) to the feature size of the first scale and concatenated on channels.

Dynamic S2 (``dynamic_s2: true``): scale s < last has (s/tile)**2 tiles merged
into one square map, the last scale an aspect-matched (cols x rows) grid; all
maps are ``area``-resized to the last scale's size and concatenated on channels,
cut back into tile-sized blocks that go through the projector one by one, and
the projected blocks are merged and flattened row-major (256 * cols * rows
tokens for the released 448/896/1344 model).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def tokens_to_map(tokens: torch.Tensor) -> torch.Tensor:
    """(B, N, C) row-major square token grid -> (B, C, side, side)."""
    b, n, c = tokens.shape
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"{n} tokens do not form a square grid")
    return tokens.reshape(b, side, side, c).permute(0, 3, 1, 2)


def map_to_tokens(fmap: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W, C), row-major."""
    return fmap.flatten(2).transpose(1, 2)


def split_grid(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """(B, C, H, W) -> (rows*cols*B, C, H/rows, W/cols): tiles row-major, each tile's batch contiguous."""
    h, w = x.shape[-2] // rows, x.shape[-1] // cols
    return torch.cat([x[..., r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(rows) for c in range(cols)], dim=0)


def merge_grid(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Inverse of :func:`split_grid`: (rows*cols*B, C, h, w) -> (B, C, rows*h, cols*w)."""
    b = x.shape[0] // (rows * cols)
    tiles = x.split(b, dim=0)
    return torch.cat([torch.cat(tiles[r * cols:(r + 1) * cols], dim=-1) for r in range(rows)], dim=-2)


def resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Interpolate in float32 (as the reference does) and cast back."""
    if tuple(x.shape[-2:]) == size:
        return x
    kwargs = {"align_corners": False} if mode == "bicubic" else {}
    return F.interpolate(x.float(), size=size, mode=mode, **kwargs).to(x.dtype)


# ----------------------------------------------------------------------------- fixed S2 (VILA1.5-3b-s2)
def s2_chunks(pixels: torch.Tensor, scales: list[int], split: int) -> torch.Tensor:
    """All chunks to encode for one image: per scale, ceil(s/split)**2 chunks of split x split pixels.

    ``pixels`` is (1, 3, S, S) at the largest scale.
    """
    chunks = []
    for scale in scales:
        n = -(-scale // split)
        resized = resize(pixels, (n * split, n * split), "bicubic")
        chunks.append(split_grid(resized, n, n))
    return torch.cat(chunks, dim=0)


def s2_merge(features: torch.Tensor, scales: list[int], split: int) -> torch.Tensor:
    """(chunks, N, C) tower features of :func:`s2_chunks` -> (1, N0, C * len(scales)) at scale 0's grid."""
    maps = tokens_to_map(features)
    merged, start = [], 0
    for scale in scales:
        n = -(-scale // split)
        merged.append(merge_grid(maps[start:start + n * n], n, n))
        start += n * n
    size = tuple(merged[0].shape[-2:])
    return map_to_tokens(torch.cat([resize(m, size, "area") for m in merged], dim=1))


# ----------------------------------------------------------------------------- dynamic S2 (NVILA)
def dynamic_s2_merge(features: torch.Tensor, counts: list[int], grid: tuple[int, int]) -> torch.Tensor:
    """Tile features of one image -> (rows*cols, N, C*scales) blocks for the projector, row-major.

    ``features`` is (sum(counts), N, C) in :func:`tiling.dynamic_s2_tiles` order;
    ``counts[s]`` tiles belong to scale s; ``grid`` = (cols, rows) of the last scale.
    """
    cols, rows = grid
    maps = tokens_to_map(features)
    merged, start = [], 0
    for index, count in enumerate(counts):
        part = maps[start:start + count]
        start += count
        if index == len(counts) - 1:
            merged.append(merge_grid(part, rows, cols))
        else:
            side = math.isqrt(count)
            merged.append(merge_grid(part, side, side))
    size = tuple(merged[-1].shape[-2:])
    full = torch.cat([resize(m, size, "area") for m in merged], dim=1)
    return map_to_tokens(split_grid(full, rows, cols))


def merge_projected_blocks(blocks: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(rows*cols, n, H) projected blocks -> (rows*cols*n, H) tokens of the whole map, row-major."""
    cols, rows = grid
    return map_to_tokens(merge_grid(tokens_to_map(blocks), rows, cols))[0]
