"""``mlp_downsample_3x3_fix`` (NVILA-Lite): 3x3 merge then a two-stage MLP.

Layers: 0 merge, 1 LayerNorm(9C), 2 Linear(9C, 3C), 3 GELU, 4 LayerNorm(3C),
5 Linear(3C, H), 6 GELU, 7 Linear(H, H); keys ``layers.1/2/4/5/7``.
ceil(R/3)**2 tokens (32 x 32 -> 121), row-major.
"""
from __future__ import annotations

from torch import nn

from workers.runtime.projectors.downsample import DownsampleProjector
from workers.runtime.projectors.registry import Projector, register


@register(name="mlp_downsample_3x3_fix")
def build(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    merged, mid = 9 * in_dim, 3 * in_dim
    return DownsampleProjector(
        type_name,
        3,
        [
            nn.LayerNorm(merged),
            nn.Linear(merged, mid),
            nn.GELU(),
            nn.LayerNorm(mid),
            nn.Linear(mid, out_dim),
            nn.GELU(),
            nn.Linear(out_dim, out_dim),
        ],
    )
