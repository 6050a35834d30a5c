"""``make_tiny``: a tiny random-weight VILA checkpoint in the released layout.

It goes through exactly the same loader and forward pass as a real checkpoint;
only the sizes are small (``parts``: SigLIP 64 px / patch 8 / 2 layers / width 64, a
2-layer LLM of width 64, a byte-level BPE tokenizer whose ~450 listed words are
single tokens, and an output layer that only emits those words). Weights are
drawn from a ``torch.Generator`` seeded with ``seed`` in sorted key order, so the
same seed gives byte-identical ``model.safetensors`` files. ``like`` picks the
shape of a released checkpoint instead (``families``, ``flat``).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from core.errors import InvalidInput
from workers.runtime.projectors import find_builder
from workers.runtime.tiny.families import ENCODER_BASIC, HF_SUFFIX, IMAGE_BASIC, LIKES, write_like
from workers.runtime.tiny.flat import FLAT_LIKES, write_flat
from workers.runtime.tiny.parts import (
    LLM_WIDTH,
    LLMS,
    VISION_WIDTH,
    prepare_out,
    write_llm,
    write_projector,
    write_siglip,
)
from workers.runtime.tiny.tokenizer import MAX_LENGTH

ENCODERS = {"image_encoder": IMAGE_BASIC, "video_encoder": ENCODER_BASIC}


def like_names() -> list[str]:
    """Every accepted ``--like`` name (the -hf-preview and flat -hf variants included)."""
    names = list(LIKES)
    names += [n + HF_SUFFIX for n, like in LIKES.items() if like.hf_preview is not None]
    return names + list(FLAT_LIKES)


def make_like(out: str | Path, name: str, *, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the tiny checkpoint shaped like ``name`` (see ``like_names``) to ``out``; returns its path.

    InvalidInput for an unknown name, or when ``out`` is a non-empty directory (unless ``overwrite``).
    """
    key = name.lower()
    if key in FLAT_LIKES:
        return write_flat(prepare_out(out, overwrite), key, seed)
    like = LIKES.get(key.removesuffix(HF_SUFFIX))
    preview = key.endswith(HF_SUFFIX)
    if like is None or (preview and like.hf_preview is None):
        raise InvalidInput(f"unknown family {name!r} for --like; choose one of {', '.join(like_names())}")
    return write_like(prepare_out(out, overwrite), like, seed, hf_preview=preview)


def make_tiny(out: str | Path, *, seed: int = 0, llm: str = "qwen2", projector: str = "mlp_downsample",
              overwrite: bool = False, like: str | None = None) -> Path:
    """Write a tiny random checkpoint to ``out`` and return its path.

    ``like`` names a released checkpoint (``like_names()``, e.g. ``vila1.5-3b``,
    ``nvila-lite-2b``): its config fields, sub-folder files and key names with tiny
    sizes; ``llm``/``projector`` are then ignored. Without it: ``llm`` is ``qwen2``
    (NVILA-style, ``auto`` template) or ``llama`` (VILA1.5-style, ``vicuna_v1``);
    ``projector`` any registered ``mm_projector_type``.
    Raises InvalidInput when ``out`` is a non-empty directory (unless ``overwrite``)
    or an option is unknown.
    """
    if like is not None:
        return make_like(out, like, seed=seed, overwrite=overwrite)
    if llm not in LLMS:
        raise InvalidInput(f"unknown tiny llm {llm!r}; choose one of {', '.join(LLMS)}")
    if find_builder(projector) is None:
        raise InvalidInput(f"unknown projector type {projector!r}")
    out = prepare_out(out, overwrite)

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # HF init draws from the global RNG; keep callers' state.
        vision_cfg = write_siglip(out / "vision_tower", generator)
        llm_cfg = write_llm(out / "llm", llm, generator)
        proj_cfg = write_projector(out / "mm_projector", projector, VISION_WIDTH, generator)

    top = {
        "architectures": ["LlavaLlamaModel"], "model_type": "llava_llama",
        "llm_cfg": llm_cfg, "vision_tower_cfg": vision_cfg, "mm_projector_cfg": proj_cfg,
        "hidden_size": LLM_WIDTH, "mm_hidden_size": VISION_WIDTH, "image_aspect_ratio": "resize",
        "mm_vision_select_layer": -2, "mm_vision_select_feature": "cls_patch", "num_video_frames": 8,
        "fps": 0.0, "model_dtype": "torch.float32", "mm_use_im_start_end": False, "mm_use_im_patch_token": False,
        "chat_template": LLMS[llm][2], "num_time_tokens": 0, "time_token_format": "<t{t}>",
        "interpolate_mode": "linear", "vision_resolution": -1, "s2": False, "dynamic_s2": False,
        "min_tiles": 1, "max_tiles": 12, "video_max_tiles": 1, "tokenizer_model_max_length": MAX_LENGTH,
        **ENCODERS,
    }
    (out / "config.json").write_text(json.dumps(top, indent=2, sort_keys=True) + "\n")
    return out
