"""What a validated checkpoint is, whichever layout it came in (``layout``: released; ``flat_hf``: flat ``-hf``).

:class:`Checkpoint` holds the component folders and parsed configs the loader needs; :class:`VilaConfig`
the top-level fields the runtime uses. ``read_json`` and the file-name tuples are shared by both readers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelLayoutError
from workers.runtime.families import Facts, Family

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
# config.json model_type -> the layout name ModelInfo reports
LAYOUTS = {"llava_llama": "llava_llama", "vila": "vila-hf-preview", "nvila": "nvila-hf", "nvila_lite": "nvila-hf"}


@dataclass(frozen=True)
class VilaConfig:
    """The top-level fields the runtime uses (``config.json``)."""

    model_type: str
    hidden_size: int
    mm_hidden_size: int
    select_layer: int
    select_feature: str
    image_aspect_ratio: str
    num_video_frames: int
    chat_template: str | None
    s2: bool = False
    dynamic_s2: bool = False
    s2_scales: tuple[int, ...] = ()
    s2_max_split_size: int = 0
    min_tiles: int = 1
    max_tiles: int = 12
    # TSPVideoEncoder pool sizes ((t, h, w), ...); empty = BasicVideoEncoder.
    video_pool_sizes: tuple[tuple[int, int, int], ...] = ()
    fps: float = 0.0

    @property
    def layout(self) -> str:
        return LAYOUTS.get(self.model_type, self.model_type)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose files were all checked: where each component lives, its parsed configs, its family."""

    root: Path
    config: VilaConfig
    llm_dir: Path
    vision_dir: Path
    projector_dir: Path
    llm_config: dict[str, Any]
    vision_config: dict[str, Any]
    projector_config: dict[str, Any]
    preprocessor: dict[str, Any] | None
    facts: Facts
    family: Family
    flat: bool = False  # the flat NVILA -hf layout (``flat_hf``): all components in the root
    raw: dict[str, Any] | None = None

    @property
    def projector_type(self) -> str:
        return str(self.projector_config["mm_projector_type"])


def read_json(path: Path) -> dict[str, Any]:
    """Parse a JSON object file; ModelLayoutError naming the file when missing or malformed."""
    if not path.is_file():
        raise ModelLayoutError(f"{path} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLayoutError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelLayoutError(f"{path} must hold a JSON object")
    return data
