"""Model families, detected from a checkpoint's config fields (never from its directory name).

A :class:`Family` fixes what the config alone does not say: which reference-code
generation the checkpoint was trained with (``legacy`` = the 2024 VILA1.5 code:
``-200`` image splice, per-chunk tokenization, column-major ``mlp_downsample``
tokens, frames as separate images; ``nvila`` = the NVILA code: added media
tokens, a ``"\\n"`` embedding after every image/frame, row-major tokens, one video
token), the default conversation template and how frames are sampled.

Each family module registers one :class:`Family` with a ``matches(facts)``
predicate; :func:`detect` returns the first registered family that matches
(registration order = priority, most specific first).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

LEGACY, NVILA = "legacy", "nvila"


@dataclass(frozen=True)
class Facts:
    """The config values detection looks at."""

    llm_architecture: str  # llm/config.json "architectures"[0] (e.g. LlamaForCausalLM)
    tower_type: str  # vision_tower/config.json "model_type"
    projector_type: str  # mm_projector/config.json "mm_projector_type"
    aspect: str  # config.json "image_aspect_ratio"
    s2: bool  # config.json "s2"
    dynamic_s2: bool  # config.json "dynamic_s2"
    llama3_tokenizer: bool  # llm/tokenizer_config.json knows "<|eot_id|>"


@dataclass(frozen=True)
class Family:
    """One family. ``template_for`` picks the default template from the facts (else ``template``)."""

    name: str
    generation: str
    template: str
    merge_order: str  # block order of mlp_downsample ("column" for VILA1.5-era weights)
    frame_sampling: str  # see ``workers.runtime.frames``
    describes: str
    matches: Callable[[Facts], bool]
    template_for: Callable[[Facts], str] | None = None

    def default_template(self, facts: Facts) -> str:
        return self.template_for(facts) if self.template_for else self.template


_FAMILIES: list[Family] = []


def register(family: Family) -> Family:
    if any(f.name == family.name for f in _FAMILIES):
        raise ValueError(f"family {family.name!r} registered twice")
    _FAMILIES.append(family)
    return family


def detect(facts: Facts) -> Family | None:
    """The first registered family matching ``facts``, or None."""
    return next((f for f in _FAMILIES if f.matches(facts)), None)


def get_family(name: str) -> Family:
    """The family called ``name``; KeyError when there is none."""
    for family in _FAMILIES:
        if family.name == name:
            return family
    raise KeyError(name)


def known_families() -> list[Family]:
    return list(_FAMILIES)
