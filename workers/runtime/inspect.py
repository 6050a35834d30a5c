"""``describe(path)``: what a checkpoint is, from its configs, tokenizer and safetensors headers (no weights loaded).

Returns the ``model inspect --json`` object: ``family``, ``vision_tower``,
``projector``, ``template``, ``tokens_per_image``, ``tokens_per_frame``,
``parameters`` ({llm, vision_tower, mm_projector, total}; as stored, before the
three runtime media tokens are added) and ``dtype`` (storage dtype of the LLM
weights). Raises ModelLayoutError like ``load_model``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import safe_open
from transformers import AutoTokenizer, Qwen2Config

from core.errors import ModelLayoutError
from workers.runtime.checkpoint import Checkpoint
from workers.runtime.counts import frame_tokens, image_tokens, newline_tokens, projector_tokens
from workers.runtime.families import LEGACY
from workers.runtime.layout import read_checkpoint
from workers.runtime.templates import template_name_for
from workers.runtime.vision import tower_kind, tower_tokens

SAFETENSORS_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8",
                      "U8": "uint8", "I32": "int32", "I64": "int64", "BOOL": "bool"}


def _weight_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    return [folder / name for name in sorted(set(index["weight_map"].values()))]


def count_parameters(folder: Path, prefix: str = "") -> tuple[int, str]:
    """(number of stored values, most common storage dtype) of the safetensors tensors under ``prefix``."""
    total, by_dtype = 0, {}
    try:
        for path in _weight_files(folder):
            with safe_open(str(path), "pt") as f:
                for key in f.keys():
                    if not key.startswith(prefix):
                        continue
                    tensor = f.get_slice(key)
                    count = 1
                    for dim in tensor.get_shape():
                        count *= dim
                    dtype = SAFETENSORS_DTYPES.get(tensor.get_dtype(), tensor.get_dtype().lower())
                    by_dtype[dtype] = by_dtype.get(dtype, 0) + count
                    total += count
    except Exception as exc:  # safetensors raises its own error types
        raise ModelLayoutError(f"{folder / 'model.safetensors'} could not be read: {exc}") from None
    return total, max(by_dtype, key=by_dtype.get) if by_dtype else "unknown"


def _tower_name(ckpt: Checkpoint) -> str:
    cfg = ckpt.vision_config
    prefix = "internvit" if cfg.get("model_type") == "intern_vit_6b" else "siglip"
    return (f"{prefix}-{cfg.get('image_size')}px-p{cfg.get('patch_size')}-{cfg.get('num_hidden_layers')}l-"
            f"{cfg.get('hidden_size')}")


def describe(path: str | Path) -> dict[str, Any]:
    """See the module docstring."""
    ckpt = read_checkpoint(path)
    cfg, vision = ckpt.config, ckpt.vision_config
    kind = tower_kind(vision, ckpt.vision_dir / "config.json")
    try:
        extra = {"config": Qwen2Config(**ckpt.llm_config)} if ckpt.flat else {}
        tokenizer = AutoTokenizer.from_pretrained(ckpt.llm_dir, local_files_only=True, **extra)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLayoutError(f"{ckpt.llm_dir}: could not load the tokenizer: {exc}") from None
    per_tile = projector_tokens(
        ckpt.projector_type,
        tower_tokens(int(vision["image_size"]), int(vision["patch_size"]), cfg.select_feature, kind.has_cls),
        ckpt.family.merge_order,
    )
    legacy = ckpt.family.generation == LEGACY
    components = (("llm", ckpt.llm_dir), ("vision_tower", ckpt.vision_dir), ("mm_projector", ckpt.projector_dir))
    prefixes = {name: (name + "." if ckpt.flat else "") for name, _ in components}
    parameters = {name: count_parameters(folder, prefixes[name])[0] for name, folder in components}
    parameters["total"] = sum(parameters.values())
    return {
        "family": ckpt.family.name,
        "vision_tower": _tower_name(ckpt),
        "projector": ckpt.projector_type,
        "template": template_name_for(cfg.chat_template, ckpt.family.default_template(ckpt.facts)),
        "tokens_per_image": image_tokens(per_tile, cfg.image_aspect_ratio, cfg.s2_scales, int(vision["image_size"])),
        "tokens_per_frame": frame_tokens(per_tile, newline_tokens(tokenizer, legacy),
                                         cfg.video_pool_sizes if not legacy else ()),
        "parameters": parameters,
        "dtype": count_parameters(ckpt.llm_dir, prefixes["llm"])[1],
    }
