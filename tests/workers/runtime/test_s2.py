"""S2 tile bookkeeping on hand-built feature maps: split/merge order, scale resize, channel stacking."""
from __future__ import annotations

import torch

from workers.runtime.s2 import dynamic_s2_merge, map_to_tokens, merge_grid, merge_projected_blocks, split_grid


def test_split_is_row_major_and_merge_inverts_it():
    fmap = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 1, 4, 6)
    tiles = split_grid(fmap, 2, 3)
    assert tiles.shape == (6, 1, 2, 2)
    assert [t[0, 0, 0].item() for t in tiles] == [0, 2, 4, 12, 14, 16]  # top-left of each tile, row-major
    assert torch.equal(merge_grid(tiles, 2, 3), fmap)


def const_tiles(values: list[float], side: int = 2) -> torch.Tensor:
    return torch.stack([torch.full((side * side, 1), v) for v in values])


def test_dynamic_s2_merge_on_a_hand_built_grid():
    # scale 0: one tile (1); scale 1: 2x2 tiles (10..13); last scale: cols=2, rows=1 tiles (20, 21); 2x2 tokens each.
    features = torch.cat([const_tiles([1]), const_tiles([10, 11, 12, 13]), const_tiles([20, 21])])
    blocks = dynamic_s2_merge(features, [1, 4, 2], (2, 1))
    assert blocks.shape == (2, 4, 3)  # rows*cols blocks of 2x2 tokens, 3 scales on channels
    assert blocks[0].tolist() == [[1, 10, 20], [1, 10, 20], [1, 12, 20], [1, 12, 20]]
    assert blocks[1].tolist() == [[1, 11, 21], [1, 11, 21], [1, 13, 21], [1, 13, 21]]


def test_projected_blocks_merge_back_row_major():
    blocks = torch.tensor([[[0.0], [1.0], [2.0], [3.0]], [[10.0], [11.0], [12.0], [13.0]]])  # 2 blocks of 2x2
    tokens = merge_projected_blocks(blocks, (2, 1))  # side by side
    assert tokens[:, 0].tolist() == [0, 1, 10, 11, 2, 3, 12, 13]
    assert map_to_tokens(torch.zeros(1, 5, 2, 3)).shape == (1, 6, 5)
