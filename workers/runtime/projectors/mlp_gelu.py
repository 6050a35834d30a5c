"""``mlpNx_gelu`` (e.g. ``mlp2x_gelu``): N Linear layers with exact GELU between them.

Layer sequence Linear(C, H), GELU, Linear(H, H), ... so the parameter keys are
``layers.0``, ``layers.2``, ..., ``layers.2(N-1)``. One token per vision token.
"""
from __future__ import annotations

import re

from torch import nn

from workers.runtime.projectors.registry import Projector, register

PATTERN = r"mlp(\d+)x_gelu"


@register(pattern=PATTERN)
def build(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    match = re.fullmatch(PATTERN, type_name)
    depth = int(match.group(1)) if match else 0
    if depth < 1:
        raise KeyError(type_name)
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(depth - 1):
        layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
    return Projector(type_name, nn.Sequential(*layers))
