"""``mlp_downsample_2x2_fix``: the ``mlp_downsample`` layers with row-major block order in every code version.

Same layers and keys as ``mlp_downsample`` (``layers.1/2/4``); the ``_fix`` name was
introduced with the order fix, so checkpoints of this type were always trained row-major.
"""
from __future__ import annotations

from torch import nn

from workers.runtime.projectors.downsample import DownsampleProjector
from workers.runtime.projectors.registry import Projector, register


@register(name="mlp_downsample_2x2_fix")
def build(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    merged = 4 * in_dim
    # ``order`` is accepted for a uniform builder signature but the _fix type is always row-major.
    return DownsampleProjector(
        type_name, 2, [nn.LayerNorm(merged), nn.Linear(merged, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim)]
    )
