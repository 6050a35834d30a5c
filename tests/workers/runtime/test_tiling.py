"""Dynamic tiling (NVILA-Lite) and dynamic S2 tiles (NVILA-8B/15B): grid choice, tie-break, thumbnail, order."""
from __future__ import annotations

import pytest
from PIL import Image

from workers.runtime.tiling import candidate_grids, choose_grid, crop_grid, dynamic_s2_tiles, dynamic_tiles

TILE = 448


@pytest.mark.parametrize(("size", "dynamic", "dynamic_s2"), [
    ((448, 448), (1, 1), (3, 3)),
    ((896, 448), (2, 1), (5, 2)),  # exact 2:1; (4, 2) ties but the image is too small to take it
    ((1920, 1080), (4, 2), (4, 3)),  # (2, 1) and (4, 2) tie; 1920x1080 > half of 8 tiles' area -> (4, 2)
    ((1080, 1920), (2, 4), (2, 5)),
    ((500, 100), (5, 1), (6, 2)),
    ((100, 100), (1, 1), (3, 3)),
    ((600, 600), (1, 1), (3, 3)),  # ties with 2x2 and 3x3 but 600^2 < 0.5 * 4 * 448^2
    ((2000, 2000), (3, 3), (3, 3)),  # large enough for the later ties: 1x1 -> 2x2 -> 3x3
    ((448, 1344), (1, 3), (2, 6)),
])
def test_grid_choice(size, dynamic, dynamic_s2):
    assert choose_grid(*size, TILE, 1, 12) == dynamic
    assert choose_grid(*size, TILE, 9, 12) == dynamic_s2


def test_candidates_cover_the_tile_range_sorted_by_count():
    grids = candidate_grids(9, 12)
    assert all(9 <= c * r <= 12 for c, r in grids) and (3, 3) in grids and (4, 3) in grids and (12, 1) in grids
    assert [c * r for c, r in grids] == sorted(c * r for c, r in grids)
    assert len(candidate_grids(1, 12)) == sum(sum(1 for c in range(1, 13) if 1 <= c * r <= 12) for r in range(1, 13))


def quadrants() -> Image.Image:
    """4x2 image of 8 flat colours, one per 1x1 cell (cols x rows = 4 x 2)."""
    image = Image.new("RGB", (8, 4))
    for r in range(2):
        for c in range(4):
            image.paste((c * 60, r * 200, 7), (2 * c, 2 * r, 2 * c + 2, 2 * r + 2))
    return image


def test_tiles_are_row_major_with_a_thumbnail_last():
    tiles = dynamic_tiles(quadrants(), 2, 1, 12)  # aspect 2 -> 2x1 ties 4x2; 32 px^2 > 0.5*4*8 -> 4x2
    assert len(tiles) == 4 * 2 + 1
    colours = [t.getpixel((0, 0)) for t in tiles[:8]]
    assert colours == [(c * 60, r * 200, 7) for r in range(2) for c in range(4)]
    assert tiles[-1].size == (2, 2)  # whole-image thumbnail
    one = dynamic_tiles(Image.new("RGB", (10, 10)), 16, 1, 12)
    assert len(one) == 1  # no thumbnail for a single tile


def test_crop_grid_sizes():
    tiles = crop_grid(Image.new("RGB", (30, 10)), 4, 3, 1)
    assert [t.size for t in tiles] == [(4, 4)] * 3


def test_dynamic_s2_tiles_per_scale():
    plan = dynamic_s2_tiles(Image.new("RGB", (1920, 1080)), 32, [32, 64, 96], 12)
    assert [len(t) for t in plan.per_scale] == [1, 4, 12] and plan.grid == (4, 3) and plan.count == 17
    assert all(t.size == (32, 32) for scale in plan.per_scale for t in scale)
    square = dynamic_s2_tiles(Image.new("RGB", (50, 50)), 32, [32, 64, 96], 12)
    assert square.grid == (3, 3) and square.count == 1 + 4 + 9
    with pytest.raises(ValueError):
        dynamic_s2_tiles(Image.new("RGB", (50, 50)), 32, [32, 70], 12)
