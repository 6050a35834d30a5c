"""Shared base of the ``mlp_downsample*`` projectors: layer 0 merges k x k token blocks."""
from __future__ import annotations

from torch import nn

from workers.runtime.projectors.merge import SpatialMerge, grid_side, merged_side
from workers.runtime.projectors.registry import Projector


class DownsampleProjector(Projector):
    """A projector whose ``layers[0]`` is a :class:`SpatialMerge` with block size ``k``."""

    def __init__(self, type_name: str, k: int, layers: list[nn.Module], order: str = "row") -> None:
        super().__init__(type_name, nn.Sequential(SpatialMerge(k, order), *layers))
        self.k = k

    def num_tokens(self, num_vision_tokens: int) -> int:
        return merged_side(grid_side(num_vision_tokens), self.k) ** 2
