"""Multimodal projectors, one module per ``mm_projector_type``; see ``registry``."""
from workers.runtime.projectors import (  # noqa: F401  (registration)
    linear,
    mlp_downsample,
    mlp_downsample_2x2_fix,
    mlp_downsample_3x3_fix,
    mlp_gelu,
)
from workers.runtime.projectors.registry import Projector, build_projector, find_builder, known_types, register

__all__ = ["Projector", "build_projector", "find_builder", "known_types", "register"]
