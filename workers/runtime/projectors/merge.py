"""Spatial token merge used by the ``mlp_downsample*`` projectors.

A (B, N, C) batch of vision tokens with N = R*R (a square grid read row-major)
becomes (B, ceil(R/k)**2, k*k*C): the grid is zero-padded at the bottom and the
right to a multiple of k, and every k x k block turns into one token whose
vector concatenates the block's features row offset first, then column offset,
so channel index = (dr*k + dc)*C + c.

Token order over blocks is row-major (NVILA-era code and every ``_fix``
variant). The VILA1.5-era ``mlp_downsample`` emitted the same vectors in
column-major block order; ``order="column"`` reproduces it for the VILA1.5
families (chosen by ``families``).
"""
from __future__ import annotations

import math

import torch
from torch import nn

ORDERS = ("row", "column")


def merged_side(side: int, k: int) -> int:
    """Blocks per side after merging a ``side`` x ``side`` grid with ``k`` x ``k`` blocks."""
    return -(-side // k)


def grid_side(num_tokens: int) -> int:
    """Side of the square token grid; ValueError when ``num_tokens`` is not a perfect square."""
    side = math.isqrt(num_tokens)
    if side * side != num_tokens:
        raise ValueError(f"{num_tokens} vision tokens do not form a square grid")
    return side


def spatial_merge(x: torch.Tensor, k: int, order: str = "row") -> torch.Tensor:
    """Merge k x k blocks of a square token grid; see the module docstring.

    Input (B, N, C), output (B, ceil(sqrt(N)/k)**2, k*k*C). Raises ValueError for a
    non-square N or an unknown ``order``.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown token order {order!r}; expected one of {ORDERS}")
    b, n, c = x.shape
    side = grid_side(n)
    blocks = merged_side(side, k)
    pad = blocks * k - side
    grid = x.reshape(b, side, side, c)
    if pad:
        # F.pad pads trailing dims first: (C: none, W: right, H: bottom).
        grid = nn.functional.pad(grid, (0, 0, 0, pad, 0, pad))
    # (B, rows, dr, cols, dc, C) -> (B, rows, cols, dr, dc, C): channel = (dr*k + dc)*C + c.
    grid = grid.reshape(b, blocks, k, blocks, k, c).permute(0, 1, 3, 2, 4, 5)
    if order == "column":
        grid = grid.transpose(1, 2)
    return grid.reshape(b, blocks * blocks, k * k * c)


class SpatialMerge(nn.Module):
    """Parameter-free layer 0 of the downsample projectors (keeps the released key indices)."""

    def __init__(self, k: int, order: str = "row") -> None:
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"unknown token order {order!r}; expected one of {ORDERS}")
        self.k = k
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spatial_merge(x, self.k, self.order)

    def extra_repr(self) -> str:
        return f"k={self.k}, order={self.order}"
