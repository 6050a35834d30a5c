"""The known token counts of the released models, from their real sizes (no weights needed)."""
from __future__ import annotations

import pytest
import torch

from workers.runtime.counts import frame_tokens, image_tokens, projector_tokens
from workers.runtime.projectors import build_projector
from workers.runtime.s2 import dynamic_s2_merge, merge_projected_blocks, s2_chunks, s2_merge
from workers.runtime.vision import tower_tokens


def test_vila15_siglip_384_with_2x2_merge_is_196():
    tokens = tower_tokens(384, 14, "cls_patch", has_cls=False)
    assert tokens == 729  # SigLIP has no CLS: cls_patch keeps all 27x27
    assert projector_tokens("mlp_downsample", tokens, "column") == 196
    assert image_tokens(196, "resize", (), 384) == 196


def test_vila15_40b_internvit_drops_cls_and_gives_256():
    tokens = tower_tokens(448, 14, "patch", has_cls=True)
    assert tokens == 1024
    assert projector_tokens("mlp_downsample", tokens, "column") == 256


def test_nvila_lite_3x3_at_448_is_121_per_tile():
    tokens = tower_tokens(448, 14, "cls_patch", has_cls=False)
    assert tokens == 1024
    assert projector_tokens("mlp_downsample_3x3_fix", tokens) == 121
    assert image_tokens(121, "dynamic", (), 448) == 121
    assert frame_tokens(121, 1) == 122  # + the "\n" embedding (Qwen: one token)


@pytest.mark.parametrize(("cols", "rows"), [(3, 3), (4, 3), (3, 4), (2, 5), (6, 2), (12, 1)])
def test_nvila_dynamic_s2_gives_256_per_block(cols, rows):
    # Real grid sizes (32x32 per 448 tile), 2 channels instead of 1152 to stay small.
    c, tiles = 2, 1 + 4 + cols * rows
    features = torch.randn(tiles, 32 * 32, c)
    blocks = dynamic_s2_merge(features, [1, 4, cols * rows], (cols, rows))
    assert blocks.shape == (cols * rows, 32 * 32, 3 * c)
    projector = build_projector("mlp_downsample", 3 * c, 5)
    with torch.no_grad():
        tokens = merge_projected_blocks(projector(blocks), (cols, rows))
    assert tokens.shape == (256 * cols * rows, 5)
    assert image_tokens(256, "dynamic_s2", (448, 896, 1344), 448) == 256 * 9  # a square image -> 3x3


def test_nvila_dynamic_s2_frames_and_tsp():
    assert frame_tokens(256, 1) == 257
    assert frame_tokens(256, 1, ((8, 1, 1),)) == 33  # 257 / 8 rounded up
    assert frame_tokens(256, 1, ((8, 2, 2),)) == 9  # (64 + 1) / 8


def test_vila15_s2_two_scales_at_384_768_give_196_tokens_of_2304_channels():
    pixels = torch.randn(1, 3, 768, 768)
    chunks = s2_chunks(pixels, [384, 768], 384)
    assert chunks.shape == (1 + 4, 3, 384, 384)
    merged = s2_merge(torch.randn(5, 27 * 27, 2), [384, 768], 384)
    assert merged.shape == (1, 729, 4)  # 27x27 at scale 0, channels x 2 (1152 x 2 = 2304 released)
    assert projector_tokens("mlp_downsample", 729) == 196
