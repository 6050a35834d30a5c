"""The flat NVILA ``-hf`` layout (``NVILA-8B-hf``, ``NVILA-Lite-*-hf``): one folder, one weight set.

``config.json``: ``model_type`` ``nvila`` (dynamic S2) or ``nvila_lite`` (dynamic tiles, 3x3 merge),
``text_config`` (Qwen2), ``vision_config`` (SigLIP), ``image_token_id``, ``video_token_id``. Weights
(``model.safetensors`` or shards) are keyed ``llm.*`` (a ``Qwen2ForCausalLM``), ``vision_tower.vision_model.*``
(a ``SiglipVisionModel``) and ``mm_projector.layers.N.*``; the tokenizer and ``preprocessor_config.json``
sit in the root. What the ``llava_llama`` config spells out is fixed by the model type here, as in
SGLang's loaders: the projector type, the tiling mode and the S2 scales (1, 2 and 3 tiles per side).

:func:`read_flat` validates the folder into a :class:`checkpoint.Checkpoint` whose three component
folders are the root (``flat=True``); :func:`split_state` hands each component its tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.errors import ModelLayoutError
from workers.runtime.checkpoint import TOKENIZER_FILES, WEIGHT_FILES, Checkpoint, VilaConfig, read_json
from workers.runtime.families import Facts, detect
from workers.runtime.weights import read_state


@dataclass(frozen=True)
class FlatType:
    projector: str
    aspect: str
    scales: tuple[int, ...]  # multiples of the tower's image size; () = no S2


FLAT_TYPES = {
    "nvila": FlatType("mlp_downsample", "dynamic_s2", (1, 2, 3)),
    "nvila_lite": FlatType("mlp_downsample_3x3_fix", "dynamic", ()),
}
PREFIXES = {"llm": "llm.", "vision_tower": "vision_tower.", "mm_projector": "mm_projector."}


def _dict_field(raw: dict[str, Any], name: str, where: Path) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise ModelLayoutError(f"{where}: field '{name}' is missing or not an object")
    return value


def _int_field(raw: dict[str, Any], name: str, where: Path) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelLayoutError(f"{where}: field '{name}' is missing or not an integer")
    return value


def read_flat(root: Path, raw: dict[str, Any], where: Path) -> Checkpoint:
    """Validate a flat ``-hf`` folder (config fields, weights, tokenizer) into a ``Checkpoint``.

    ``raw`` is the parsed ``where`` (``root/config.json``) whose ``model_type`` is a key of ``FLAT_TYPES``;
    ModelLayoutError names the missing or mistyped field or file.
    """
    kind = FLAT_TYPES[raw["model_type"]]
    text = _dict_field(raw, "text_config", where)
    vision = {"model_type": "siglip_vision_model", **_dict_field(raw, "vision_config", where)}
    for name in ("image_token_id", "video_token_id"):
        _int_field(raw, name, where)
    hidden = _int_field(text, "hidden_size", where)
    width = _int_field(vision, "hidden_size", where)
    size = _int_field(vision, "image_size", where)
    _int_field(vision, "patch_size", where)
    if not any((root / f).is_file() for f in WEIGHT_FILES):
        raise ModelLayoutError(f"{root / WEIGHT_FILES[0]} is missing (nor {WEIGHT_FILES[1]})")
    if not (root / "tokenizer_config.json").is_file():
        raise ModelLayoutError(f"{root / 'tokenizer_config.json'} is missing")
    if not any((root / f).is_file() for f in TOKENIZER_FILES):
        raise ModelLayoutError(f"{root / TOKENIZER_FILES[0]} is missing (nor {', '.join(TOKENIZER_FILES[1:])})")
    preprocessor_path = root / "preprocessor_config.json"
    preprocessor = read_json(preprocessor_path) if preprocessor_path.is_file() else {
        "size": {"height": size, "width": size}, "resample": 3, "rescale_factor": 1 / 255,
        "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    scales = tuple(size * m for m in kind.scales)
    config = VilaConfig(
        model_type=raw["model_type"], hidden_size=hidden, mm_hidden_size=width * max(1, len(scales)),
        select_layer=-2, select_feature="cls_patch", image_aspect_ratio=kind.aspect,
        num_video_frames=int(raw.get("num_video_frames") or 8), chat_template=None, s2=False,
        dynamic_s2=bool(scales), s2_scales=scales, s2_max_split_size=size,
        min_tiles=int(raw.get("min_tiles") or 1), max_tiles=int(raw.get("max_tiles") or 12),
    )
    facts = Facts(llm_architecture="Qwen2ForCausalLM", tower_type="siglip_vision_model", projector_type=kind.projector,
                  aspect=kind.aspect, s2=False, dynamic_s2=bool(scales), llama3_tokenizer=False)
    family = detect(facts)
    assert family is not None  # both flat types map onto registered NVILA families
    return Checkpoint(
        root=root, config=config, llm_dir=root, vision_dir=root, projector_dir=root, llm_config=text,
        vision_config=vision, projector_config={"mm_projector_type": kind.projector}, preprocessor=preprocessor,
        facts=facts, family=family, flat=True, raw=raw,
    )


def split_state(root: Path) -> dict[str, dict[str, torch.Tensor]]:
    """The root's tensors per component, prefixes removed (``vision_model.`` too, for transformers 5's SigLIP).

    ModelLayoutError naming a key that belongs to no component.
    """
    parts: dict[str, dict[str, torch.Tensor]] = {name: {} for name in PREFIXES}
    for key, tensor in read_state(root).items():
        for name, prefix in PREFIXES.items():
            if key.startswith(prefix):
                rest = key[len(prefix):]
                if name == "vision_tower":
                    rest = rest.removeprefix("vision_model.")
                parts[name][rest] = tensor
                break
        else:
            raise ModelLayoutError(f"{root / 'model.safetensors'}: key '{key}' is not under llm., vision_tower. "
                                   "or mm_projector.")
    return parts


def load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str,
                tied: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``module``; ModelLayoutError naming missing/unexpected/mis-shaped keys.

    Keys in ``tied`` may be absent (tied output embeddings are stored once).
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state) - set(tied))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in state if k in expected and tuple(expected[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        raise ModelLayoutError(f"{where}: weights do not match the config: missing {missing[:5]}, "
                               f"unexpected {unexpected[:5]}, wrong shape {wrong[:3]}")
    module.load_state_dict(state, strict=False)
