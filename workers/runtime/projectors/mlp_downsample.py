"""``mlp_downsample``: 2x2 merge, LayerNorm(4C), Linear(4C, H), GELU, Linear(H, H).

Keys ``layers.1`` (LayerNorm), ``layers.2``, ``layers.4``; ceil(R/2)**2 tokens for an
R x R grid (27 x 27 -> 196). Block order ``row`` (NVILA-era code) or ``column``
(the VILA1.5-era code the VILA1.5 checkpoints were trained with; see ``merge``).
"""
from __future__ import annotations

from torch import nn

from workers.runtime.projectors.downsample import DownsampleProjector
from workers.runtime.projectors.registry import Projector, register


@register(name="mlp_downsample")
def build(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    merged = 4 * in_dim
    return DownsampleProjector(
        type_name,
        2,
        [nn.LayerNorm(merged), nn.Linear(merged, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim)],
        order=order,
    )
