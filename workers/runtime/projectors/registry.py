"""Registry of multimodal projector types (``mm_projector_type`` in ``mm_projector/config.json``).

Each variant module registers a builder ``(type_name, in_dim, out_dim, order) -> Projector``
under an exact name or a regular expression (``mlp(\\d+)x_gelu``). The loader only
calls :func:`build_projector`; adding a type means adding one module and its
import in ``projectors/__init__.py``.
"""
from __future__ import annotations

import re
from typing import Callable

import torch
from torch import nn


class Projector(nn.Module):
    """A projector: ``layers`` maps (B, N, in_dim) vision tokens to (B, num_tokens(N), out_dim).

    ``layers`` carries the parameters under the released key names
    (``layers.weight`` for ``linear``, ``layers.<index>.*`` for the sequential types).
    """

    type_name: str = ""

    def __init__(self, type_name: str, layers: nn.Module) -> None:
        super().__init__()
        self.type_name = type_name
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def num_tokens(self, num_vision_tokens: int) -> int:
        """Tokens produced per image for ``num_vision_tokens`` input tokens."""
        return num_vision_tokens


# (type_name, in_dim, out_dim, order): ``order`` is the block order of a spatial merge
# ("row" or "column"); projectors without a merge ignore it.
Builder = Callable[..., Projector]

_EXACT: dict[str, Builder] = {}
_PATTERNS: list[tuple[re.Pattern[str], Builder]] = []


def register(*, name: str | None = None, pattern: str | None = None) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under an exact ``name`` or a full-match regex ``pattern``."""
    if (name is None) == (pattern is None):
        raise ValueError("register() needs exactly one of name= or pattern=")

    def decorate(builder: Builder) -> Builder:
        if name is not None:
            if name in _EXACT:
                raise ValueError(f"projector type {name!r} registered twice")
            _EXACT[name] = builder
        else:
            _PATTERNS.append((re.compile(pattern), builder))  # type: ignore[arg-type]
        return builder

    return decorate


def find_builder(type_name: str) -> Builder | None:
    """The builder for ``type_name``, or None when the type is not registered."""
    if type_name in _EXACT:
        return _EXACT[type_name]
    for regex, builder in _PATTERNS:
        if regex.fullmatch(type_name):
            return builder
    return None


def build_projector(type_name: str, in_dim: int, out_dim: int, order: str = "row") -> Projector:
    """Build a randomly initialised projector of ``type_name``; KeyError when not registered.

    ``order`` ("row"/"column") is the merge block order for ``mlp_downsample`` (see ``merge``).
    """
    builder = find_builder(type_name)
    if builder is None:
        raise KeyError(type_name)
    return builder(type_name, in_dim, out_dim, order)


def known_types() -> list[str]:
    """Registered names and patterns, for error messages."""
    return sorted(_EXACT) + [regex.pattern for regex, _ in _PATTERNS]
