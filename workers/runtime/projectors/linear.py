"""``linear``: one Linear(C, H); keys ``layers.weight``/``layers.bias``; one token per vision token."""
from __future__ import annotations

from torch import nn

from workers.runtime.projectors.registry import Projector, register


@register(name="linear")
def build(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    return Projector(type_name, nn.Linear(in_dim, out_dim))
