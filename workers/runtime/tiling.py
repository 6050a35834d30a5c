"""Image tiling of the NVILA families: ``dynamic`` (NVILA-Lite) and ``dynamic_s2`` (NVILA-8B/15B).

``choose_grid`` picks the (cols, rows) grid whose aspect ratio is closest to the
image's among all grids with ``min_tiles <= cols*rows <= max_tiles`` (sorted by
tile count, then as listed); on an exact tie the later (larger) grid replaces
the earlier one only when the image's area exceeds half of the grid's pixel
area. ``dynamic_tiles`` resizes to (tile*cols, tile*rows), crops row-major and
appends a whole-image thumbnail when there is more than one tile.
``dynamic_s2_tiles`` returns, per S2 scale, the tiles of that scale (square
resizes for all but the last scale, the aspect-matched grid for the last one).
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image


def candidate_grids(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """All (cols, rows) with min_tiles <= cols*rows <= max_tiles, ordered by tile count (stable)."""
    grids = {
        (i, j)
        for n in range(min_tiles, max_tiles + 1)
        for i in range(1, n + 1)
        for j in range(1, n + 1)
        if min_tiles <= i * j <= max_tiles
    }
    return sorted(grids, key=lambda g: g[0] * g[1])


def choose_grid(width: int, height: int, tile: int, min_tiles: int, max_tiles: int) -> tuple[int, int]:
    """The (cols, rows) grid for an image of ``width`` x ``height``; see the module docstring."""
    aspect = width / height
    area = width * height
    best_diff = float("inf")
    best = (1, 1)
    for cols, rows in candidate_grids(min_tiles, max_tiles):
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def crop_grid(image: Image.Image, tile: int, cols: int, rows: int) -> list[Image.Image]:
    """Resize ``image`` to (tile*cols, tile*rows) (bicubic) and cut it into tiles, row-major."""
    resized = image.resize((tile * cols, tile * rows), Image.Resampling.BICUBIC)
    return [
        resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)) for r in range(rows) for c in range(cols)
    ]


def dynamic_tiles(image: Image.Image, tile: int, min_tiles: int, max_tiles: int) -> list[Image.Image]:
    """NVILA-Lite tiles of one image: the grid's tiles, then a thumbnail if there is more than one."""
    image = image.convert("RGB")
    cols, rows = choose_grid(image.width, image.height, tile, min_tiles, max_tiles)
    tiles = crop_grid(image, tile, cols, rows)
    if len(tiles) > 1:
        tiles.append(image.resize((tile, tile), Image.Resampling.BICUBIC))
    return tiles


@dataclass(frozen=True)
class S2Tiles:
    """Tiles of one image for dynamic S2: ``per_scale[s]`` are scale s's tiles (row-major).

    ``grid`` is the last scale's (cols, rows); earlier scales are square grids of
    (scale / tile) tiles per side.
    """

    per_scale: list[list[Image.Image]]
    grid: tuple[int, int]

    @property
    def count(self) -> int:
        return sum(len(t) for t in self.per_scale)


def dynamic_s2_tiles(image: Image.Image, tile: int, scales: list[int], max_tiles: int) -> S2Tiles:
    """Tiles for dynamic S2: square resizes for ``scales[:-1]``, aspect grid for the last.

    The last scale's grid has between (scales[-1]/tile)**2 and ``max_tiles`` tiles
    (9..12 for 448/1344). ValueError when a scale is not a multiple of ``tile``.
    """
    if any(s % tile for s in scales):
        raise ValueError(f"S2 scales {scales} must be multiples of the tile size {tile}")
    image = image.convert("RGB")
    per_scale = [crop_grid(image, tile, s // tile, s // tile) for s in scales[:-1]]
    least = (scales[-1] // tile) ** 2
    cols, rows = choose_grid(image.width, image.height, tile, least, max(max_tiles, least))
    per_scale.append(crop_grid(image, tile, cols, rows))
    return S2Tiles(per_scale=per_scale, grid=(cols, rows))
