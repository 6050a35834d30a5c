"""Read and validate a VILA checkpoint directory (the released ``llava_llama`` layout).

``read_checkpoint(path)`` checks every file the loader will open before any
weights are read, and raises ``ModelLayoutError`` whose message names the exact
file (and field) that is missing or wrong. It returns a :class:`Checkpoint`
holding the component paths and the parsed configs.

Layout: ``config.json`` whose ``llm_cfg``/``vision_tower_cfg``/``mm_projector_cfg``
are dicts (component in ``<root>/llm``, ``<root>/vision_tower``, ``<root>/mm_projector``)
or strings (a path, relative to the root when not absolute).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.errors import ModelLayoutError
from workers.runtime.projectors import find_builder, known_types

COMPONENTS = {"llm": "llm_cfg", "vision_tower": "vision_tower_cfg", "mm_projector": "mm_projector_cfg"}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
SELECT_FEATURES = ("cls_patch", "patch")
# Video frames skip tiling in the reference code, so ``dynamic`` models see plain resized frames.
ASPECT_MODES = ("resize", "pad", "dynamic")


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


@dataclass(frozen=True)
class Checkpoint:
    root: Path
    config: VilaConfig
    llm_dir: Path
    vision_dir: Path
    projector_dir: Path
    llm_config: dict[str, Any]
    vision_config: dict[str, Any]
    projector_config: dict[str, Any]
    preprocessor: dict[str, Any]

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


def _field(config: dict[str, Any], name: str, kind: type | tuple[type, ...], where: Path) -> Any:
    if name not in config:
        raise ModelLayoutError(f"{where}: field '{name}' is missing")
    value = config[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ModelLayoutError(f"{where}: field '{name}' has the wrong type ({type(value).__name__})")
    return value


def _choice(config: dict[str, Any], name: str, allowed: tuple[str, ...], where: Path, default: str) -> str:
    value = config.get(name, default)
    if value not in allowed:
        raise ModelLayoutError(f"{where}: field '{name}' is {value!r}; supported: {', '.join(allowed)}")
    return value


def _component_dir(root: Path, config: dict[str, Any], name: str, where: Path) -> Path:
    key = COMPONENTS[name]
    value = _field(config, key, (dict, str), where)
    if isinstance(value, dict):
        folder = root / name
    else:
        folder = Path(value) if Path(value).is_absolute() else root / value
    if not folder.is_dir():
        raise ModelLayoutError(f"{folder}: sub-folder for '{key}' in {where} is missing")
    if not (folder / "config.json").is_file():
        raise ModelLayoutError(f"{folder / 'config.json'} is missing")
    if not any((folder / f).is_file() for f in WEIGHT_FILES):
        raise ModelLayoutError(f"{folder / WEIGHT_FILES[0]} is missing (nor {WEIGHT_FILES[1]})")
    return folder


def parse_top_config(config: dict[str, Any], where: Path) -> VilaConfig:
    """Validate the top-level fields; ModelLayoutError names the field."""
    if config.get("mm_use_im_start_end"):
        raise ModelLayoutError(f"{where}: field 'mm_use_im_start_end' is true; only false is supported")
    if config.get("s2") or config.get("dynamic_s2"):
        raise ModelLayoutError(f"{where}: S2 vision features ('s2'/'dynamic_s2') are not supported yet")
    template = config.get("chat_template")
    return VilaConfig(
        model_type=_field(config, "model_type", str, where),
        hidden_size=_field(config, "hidden_size", int, where),
        mm_hidden_size=_field(config, "mm_hidden_size", int, where),
        select_layer=int(config.get("mm_vision_select_layer", -2)),
        select_feature=_choice(config, "mm_vision_select_feature", SELECT_FEATURES, where, "cls_patch"),
        image_aspect_ratio=_choice(config, "image_aspect_ratio", ASPECT_MODES, where, "resize"),
        num_video_frames=int(config.get("num_video_frames") or 8),
        chat_template=template if isinstance(template, str) and template else None,
    )


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Validate the directory at ``path``; see the module docstring. Raises ModelLayoutError."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ModelLayoutError(f"{root} is not a model directory (it does not exist or is a file)")
    top_path = root / "config.json"
    if not top_path.is_file():
        raise ModelLayoutError(f"{root} is not a VILA checkpoint: {top_path} is missing")
    raw = read_json(top_path)
    config = parse_top_config(raw, top_path)
    llm_dir = _component_dir(root, raw, "llm", top_path)
    vision_dir = _component_dir(root, raw, "vision_tower", top_path)
    projector_dir = _component_dir(root, raw, "mm_projector", top_path)

    if not (llm_dir / "tokenizer_config.json").is_file():
        raise ModelLayoutError(f"{llm_dir / 'tokenizer_config.json'} is missing")
    if not any((llm_dir / f).is_file() for f in TOKENIZER_FILES):
        raise ModelLayoutError(f"{llm_dir / TOKENIZER_FILES[0]} is missing (nor {', '.join(TOKENIZER_FILES[1:])})")
    llm_config = read_json(llm_dir / "config.json")
    llm_hidden = llm_config.get("hidden_size", llm_config.get("text_config", {}).get("hidden_size"))
    if llm_hidden != config.hidden_size:
        raise ModelLayoutError(
            f"{top_path}: field 'hidden_size' is {config.hidden_size} but {llm_dir / 'config.json'} says {llm_hidden}"
        )

    vision_config = read_json(vision_dir / "config.json")
    preprocessor = read_json(vision_dir / "preprocessor_config.json")

    projector_path = projector_dir / "config.json"
    projector_config = read_json(projector_path)
    ptype = _field(projector_config, "mm_projector_type", str, projector_path)
    if find_builder(ptype) is None:
        raise ModelLayoutError(
            f"{projector_path}: field 'mm_projector_type' is {ptype!r}; supported: {', '.join(known_types())}"
        )
    return Checkpoint(
        root=root,
        config=config,
        llm_dir=llm_dir,
        vision_dir=vision_dir,
        projector_dir=projector_dir,
        llm_config=llm_config,
        vision_config=vision_config,
        projector_config=projector_config,
        preprocessor=preprocessor,
    )
