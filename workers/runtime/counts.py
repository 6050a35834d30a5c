"""Visual token counts from config values alone (no weights), for ``ModelInfo`` and ``model inspect``.

Per image: the tower's tokens (see ``vision.tower_tokens``) through the
projector's merge. ``image_tokens`` is the count for one square image at the
tower's resolution: one tile for ``resize``/``pad``/``dynamic`` (NVILA-Lite: 121 per
tile), and for ``dynamic_s2`` the minimum grid of the last scale
((1344/448)**2 = 9 blocks of 256 -> 2304 on NVILA-8B; 256*cols*rows in general).
"""
from __future__ import annotations

from workers.runtime.projectors import build_projector


def projector_tokens(projector_type: str, tower_tokens: int, order: str = "row") -> int:
    """Tokens out of ``projector_type`` for ``tower_tokens`` in (built at width 1: cheap)."""
    return build_projector(projector_type, 1, 1, order).num_tokens(tower_tokens)


def dynamic_s2_tokens(per_block: int, cols: int, rows: int) -> int:
    """Tokens of a dynamic-S2 image whose last scale has a cols x rows grid."""
    return per_block * cols * rows


def image_tokens(per_tile: int, aspect: str, s2_scales: tuple[int, ...], tile: int) -> int:
    """See the module docstring."""
    if aspect == "dynamic_s2" and s2_scales:
        side = s2_scales[-1] // tile
        return dynamic_s2_tokens(per_tile, side, side)
    return per_tile


def frame_tokens(visual: int, newline: int, pool_sizes: tuple[tuple[int, int, int], ...] = ()) -> int:
    """LLM positions per video frame: visual tokens + ``newline`` tokens, averaged over temporal pools (rounded up)."""
    if not pool_sizes:
        return visual + newline
    side = int(round(visual ** 0.5))
    total = sum(((side // h) * (side // w) + newline) / t for t, h, w in pool_sizes)
    return int(-(-total // 1))


def newline_tokens(tokenizer: object, legacy: bool) -> int:
    """Tokens of the ``"\\n"`` after an image: the tokenizer's ids (NVILA), without BOS in the legacy splice."""
    ids = list(tokenizer("\n").input_ids)  # type: ignore[operator]
    if legacy and ids and ids[0] == getattr(tokenizer, "bos_token_id", None):
        ids = ids[1:]
    return len(ids)
