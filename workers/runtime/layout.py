"""Read and validate a VILA checkpoint directory (the released ``llava_llama`` layout).

``read_checkpoint(path)`` checks every file the loader will open before any
weights are read, and raises ``ModelLayoutError`` whose message names the exact
file (and field) that is missing or wrong. It returns a ``checkpoint.Checkpoint``
holding the component paths and the parsed configs.

Layout: ``config.json`` whose ``llm_cfg``/``vision_tower_cfg``/``mm_projector_cfg``
are dicts (component in ``<root>/llm``, ``<root>/vision_tower``, ``<root>/mm_projector``)
or strings (a path, relative to the root when not absolute). ``model_type`` is
``llava_llama`` (original releases) or ``vila`` (the ``-hf-preview`` repos: the same
folders plus remote code the runtime does not need); ``nvila``/``nvila_lite`` is the flat
``-hf`` layout (``flat_hf``). The family is detected from the config fields (``families``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ModelLayoutError
from workers.runtime.checkpoint import LAYOUTS, TOKENIZER_FILES, WEIGHT_FILES, Checkpoint, VilaConfig, read_json
from workers.runtime.families import Facts, detect
from workers.runtime.flat_hf import FLAT_TYPES, read_flat
from workers.runtime.projectors import find_builder, known_types
from workers.runtime.vision import tower_kind

COMPONENTS = {"llm": "llm_cfg", "vision_tower": "vision_tower_cfg", "mm_projector": "mm_projector_cfg"}
SELECT_FEATURES = ("cls_patch", "patch")
# Video frames skip tiling in the reference code, so ``dynamic`` models see plain resized frames.
ASPECT_MODES = ("resize", "pad", "dynamic", "dynamic_s2")
VIDEO_ENCODERS = ("BasicVideoEncoder", "TSPVideoEncoder")


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


def _scales(config: dict[str, Any], where: Path) -> tuple[int, ...]:
    raw = config.get("s2_scales")
    if raw is None:
        return ()
    try:
        parts = raw.split(",") if isinstance(raw, str) else list(raw)
        scales = tuple(int(x) for x in parts)
    except (TypeError, ValueError):
        raise ModelLayoutError(f"{where}: field 's2_scales' is {raw!r}; expected e.g. \"448,896,1344\"") from None
    if not scales or any(s <= 0 for s in scales) or list(scales) != sorted(scales):
        raise ModelLayoutError(f"{where}: field 's2_scales' is {raw!r}; expected increasing positive sizes")
    return scales


def _pool_sizes(config: dict[str, Any], where: Path) -> tuple[tuple[int, int, int], ...]:
    raw = config.get("video_encoder")
    if raw is None:
        return ()
    try:
        spec = json.loads(raw) if isinstance(raw, str) else dict(raw)
        target = str(spec.get("_target_", ""))
    except (TypeError, ValueError, AttributeError):
        raise ModelLayoutError(f"{where}: field 'video_encoder' is not a JSON object") from None
    name = target.rsplit(".", 1)[-1]
    if name not in VIDEO_ENCODERS:
        raise ModelLayoutError(f"{where}: field 'video_encoder' names {target!r}; "
                               f"supported: {', '.join(VIDEO_ENCODERS)}")
    if name == "BasicVideoEncoder":
        return ()
    try:
        sizes = tuple(tuple(int(v) for v in size) for size in spec.get("pool_sizes") or ())
    except (TypeError, ValueError):
        sizes = ()
    if not sizes or any(len(size) != 3 or min(size) < 1 for size in sizes):
        raise ModelLayoutError(f"{where}: field 'video_encoder' needs 'pool_sizes' as [[t, h, w], ...]")
    return sizes  # type: ignore[return-value]


def parse_top_config(config: dict[str, Any], where: Path) -> VilaConfig:
    """Validate the top-level fields; ModelLayoutError names the field."""
    if config.get("mm_use_im_start_end"):
        raise ModelLayoutError(f"{where}: field 'mm_use_im_start_end' is true; only false is supported")
    template = config.get("chat_template")
    aspect = _choice(config, "image_aspect_ratio", ASPECT_MODES, where, "resize")
    dynamic_s2 = bool(config.get("dynamic_s2"))
    s2 = bool(config.get("s2"))
    scales = _scales(config, where)
    if (s2 or dynamic_s2) and not scales:
        raise ModelLayoutError(f"{where}: field 's2_scales' is missing (needed by 's2'/'dynamic_s2')")
    if dynamic_s2 != (aspect == "dynamic_s2"):
        raise ModelLayoutError(f"{where}: fields 'image_aspect_ratio' ({aspect!r}) and 'dynamic_s2' ({dynamic_s2}) "
                               "disagree: dynamic S2 needs both")
    split = config.get("s2_max_split_size") or (scales[0] if scales else 0)
    if not isinstance(split, int) or isinstance(split, bool):
        raise ModelLayoutError(f"{where}: field 's2_max_split_size' is {split!r}; expected an integer")
    return VilaConfig(
        model_type=_field(config, "model_type", str, where),
        hidden_size=_field(config, "hidden_size", int, where),
        mm_hidden_size=_field(config, "mm_hidden_size", int, where),
        select_layer=int(config.get("mm_vision_select_layer", -2)),
        select_feature=_choice(config, "mm_vision_select_feature", SELECT_FEATURES, where, "cls_patch"),
        image_aspect_ratio=aspect,
        num_video_frames=int(config.get("num_video_frames") or 8),
        chat_template=template if isinstance(template, str) and template else None,
        s2=s2,
        dynamic_s2=dynamic_s2,
        s2_scales=scales if (s2 or dynamic_s2) else (),
        s2_max_split_size=int(split),
        min_tiles=int(config.get("min_tiles") or 1),
        max_tiles=int(config.get("max_tiles") or 12),
        video_pool_sizes=_pool_sizes(config, where),
        fps=float(config.get("fps") or 0.0),
    )


def _llama3_tokenizer(llm_dir: Path) -> bool:
    try:
        return "<|eot_id|>" in (llm_dir / "tokenizer_config.json").read_text(encoding="utf-8")
    except OSError:
        return False


def _architecture(config: dict[str, Any], where: Path) -> str:
    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise ModelLayoutError(f"{where}: field 'architectures' is missing")
    return archs[0]


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Validate the directory at ``path``; see the module docstring. Raises ModelLayoutError."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ModelLayoutError(f"{root} is not a model directory (it does not exist or is a file)")
    top_path = root / "config.json"
    if not top_path.is_file():
        raise ModelLayoutError(f"{root} is not a VILA checkpoint: {top_path} is missing")
    raw = read_json(top_path)
    if raw.get("model_type") in FLAT_TYPES:
        return read_flat(root, raw, top_path)
    config = parse_top_config(raw, top_path)
    if config.model_type not in ("llava_llama", "vila"):
        raise ModelLayoutError(f"{top_path}: field 'model_type' is {config.model_type!r}; "
                               f"supported: {', '.join(LAYOUTS)}")
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
    kind = tower_kind(vision_config, vision_dir / "config.json")
    preprocessor_path = vision_dir / "preprocessor_config.json"
    preprocessor = read_json(preprocessor_path) if kind.fixed_processor is None or preprocessor_path.is_file() else None

    projector_path = projector_dir / "config.json"
    projector_config = read_json(projector_path)
    ptype = _field(projector_config, "mm_projector_type", str, projector_path)
    if find_builder(ptype) is None:
        raise ModelLayoutError(
            f"{projector_path}: field 'mm_projector_type' is {ptype!r}; supported: {', '.join(known_types())}"
        )
    facts = Facts(
        llm_architecture=_architecture(llm_config, llm_dir / "config.json"),
        tower_type=str(vision_config.get("model_type")),
        projector_type=ptype,
        aspect=config.image_aspect_ratio,
        s2=config.s2,
        dynamic_s2=config.dynamic_s2,
        llama3_tokenizer=_llama3_tokenizer(llm_dir),
    )
    family = detect(facts)
    if family is None:
        raise ModelLayoutError(
            f"{top_path}: no supported VILA family has this combination of fields: LLM {facts.llm_architecture} "
            f"({llm_dir / 'config.json'}), vision tower {facts.tower_type!r}, image_aspect_ratio {facts.aspect!r}, "
            f"s2 {facts.s2}, dynamic_s2 {facts.dynamic_s2}"
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
        facts=facts,
        family=family,
    )
