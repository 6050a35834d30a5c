"""Tiny random checkpoints shaped like each released VILA1.5 / NVILA checkpoint (``make-tiny --like``).

Each :class:`Like` copies what ``docs/vila-reference.md`` records of one release:
the top-level ``config.json`` fields (names and non-size values), the LLM class
and tokenizer kind, the vision tower (SigLIP with or without its MAP head, or
InternViT with its own key names), the projector type and its keys. Sizes are
tiny and chosen to keep the released *shape* of every rule: an odd 7 x 7 SigLIP
grid where the release has 27 x 27 (so 2x2 merging pads), an 8 x 8 grid where the
release has 32 x 32 (so 3x3 merging pads 8 -> 9), S2 scales as multiples of the
tile (``"56,112"`` for ``"384,768"``, ``"32,64,96"`` for ``"448,896,1344"``).
The ``-hf-preview`` variants add ``model_type: vila`` with its remote-code fields
(the remote code files themselves are not written; the runtime does not run them);
the flat ``-hf`` variants are written by ``flat``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from workers.runtime.intern_vit import InternVisionModel, InternVitConfig
from workers.runtime.tiny.parts import (
    LLM_WIDTH,
    VISION_WIDTH,
    fill_weights,
    save_component,
    write_llm,
    write_projector,
    write_siglip,
)
from workers.runtime.tiny.tokenizer import MAX_LENGTH

ENCODER_BASIC = '{"_target_": "llava.model.encoders.BasicVideoEncoder"}'
IMAGE_BASIC = '{"_target_": "llava.model.encoders.BasicImageEncoder"}'


@dataclass(frozen=True)
class Like:
    """One released checkpoint's shape. ``top`` holds its family-specific top-level fields."""

    released: str  # the model hub name
    tokenizer: str  # tokenizer.STYLES style, or parts.SPM_STYLE (spm: a SentencePiece tokenizer.model)
    arch: str  # "llama" | "qwen2"
    tower: str  # "siglip" | "siglip-head" | "intern_vit"
    image_size: int
    patch_size: int
    projector: str
    scales: int = 1  # channel multiple of mm_hidden_size (S2 scales)
    top: dict[str, Any] = field(default_factory=dict)
    hf_preview: str | None = None  # conv-mode name written as chat_template of the -hf-preview variant


VILA15_TOP = {"image_aspect_ratio": "resize", "s2": False, "s2_scales": "336,672,1008", "s2_max_split_size": 336,
              "num_video_frames": 8, "interpolate_mode": "linear", "vision_resolution": -1,
              "mm_use_im_patch_token": False, "resume_path": None}
NVILA_TOP = {"s2": False, "num_video_frames": 8, "fps": 0.0, "chat_template": None, "num_time_tokens": 0,
             "time_token_format": "<t{t}>", "interpolate_mode": "linear", "vision_resolution": -1,
             "mm_use_im_patch_token": False, "min_tiles": 1, "max_tiles": 12, "video_max_tiles": 1,
             "image_encoder": IMAGE_BASIC, "video_encoder": ENCODER_BASIC, "resume_path": None}
LITE_TOP = {**NVILA_TOP, "image_aspect_ratio": "dynamic", "dynamic_s2": False}
S2_TOP = {**NVILA_TOP, "image_aspect_ratio": "dynamic_s2", "dynamic_s2": True, "s2_scales": "32,64,96",
          "s2_max_split_size": 32, "s2_resize_output_to_scale_idx": -1}
VIDEO_TOP = {**NVILA_TOP, "image_aspect_ratio": "resize", "dynamic_s2": False, "num_video_frames": 8,
             "video_encoder": '{"_target_": "llava.model.encoders.TSPVideoEncoder", "pool_sizes": [[8, 1, 1]]}'}


def _vila15(released: str, tokenizer: str, conv: str) -> Like:
    return Like(released, tokenizer, "llama", "siglip-head", 56, 8, "mlp_downsample", top=VILA15_TOP,
                hf_preview=conv)


LIKES: dict[str, Like] = {
    "vila1.5-3b": _vila15("Efficient-Large-Model/VILA1.5-3b", "llama-spm", "vicuna_v1"),
    "vila1.5-3b-s2": Like("Efficient-Large-Model/VILA1.5-3b-s2", "llama-spm", "llama", "siglip-head", 56, 8,
                          "mlp_downsample", scales=2,
                          top={**VILA15_TOP, "s2": True, "s2_scales": "56,112", "s2_max_split_size": 56}),
    "llama-3-vila1.5-8b": _vila15("Efficient-Large-Model/Llama-3-VILA1.5-8B", "llama3", "llama_3"),
    "vila1.5-13b": _vila15("Efficient-Large-Model/VILA1.5-13b", "llama-spm", "vicuna_v1"),
    "vila1.5-40b": Like("Efficient-Large-Model/VILA1.5-40b", "yi", "llama", "intern_vit", 64, 8, "mlp_downsample",
                        top={**VILA15_TOP, "mm_vision_select_layer": -1, "mm_vision_select_feature": "patch"},
                        hf_preview="hermes-2"),
    **{f"nvila-lite-{size}": Like(f"Efficient-Large-Model/NVILA-Lite-{size.upper()}", "qwen2", "qwen2", "siglip",
                                  64, 8, "mlp_downsample_3x3_fix", top=LITE_TOP,
                                  hf_preview="" if size in ("2b", "8b") else None)
       for size in ("2b", "8b", "15b")},
    **{f"nvila-{size}": Like(f"Efficient-Large-Model/NVILA-{size.upper()}", "qwen2", "qwen2", "siglip", 32, 8,
                             "mlp_downsample", scales=3, top=S2_TOP)
       for size in ("8b", "15b")},
    "nvila-8b-video": Like("Efficient-Large-Model/NVILA-8B-Video", "qwen2", "qwen2", "siglip", 64, 8,
                           "mlp_downsample_2x2_fix", top=VIDEO_TOP),
}
HF_SUFFIX = "-hf-preview"


def _intern_vit(folder: Path, like: Like, generator: torch.Generator) -> dict[str, Any]:
    config = {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_size": VISION_WIDTH,
        "intermediate_size": 2 * VISION_WIDTH, "num_attention_heads": 4, "num_hidden_layers": 2,
        "image_size": like.image_size, "patch_size": like.patch_size, "num_channels": 3, "qkv_bias": False,
        "qk_normalization": True, "norm_type": "rms_norm", "layer_norm_eps": 1e-6, "hidden_act": "gelu",
        "initializer_factor": 0.1, "initializer_range": 1e-10, "drop_path_rate": 0.0, "dropout": 0.0,
        "attention_dropout": 0.0, "use_flash_attn": False,
    }
    model = InternVisionModel(InternVitConfig.from_dict(config, folder / "config.json"))
    save_component(folder, fill_weights(model, generator), config)
    preprocessor = {"crop_size": like.image_size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                    "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
                    "size": like.image_size, "image_processor_type": "CLIPImageProcessor"}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2, sort_keys=True) + "\n")
    return config


def write_like(out: Path, like: Like, seed: int, *, hf_preview: bool = False) -> Path:
    """Write the tiny checkpoint shaped like ``like`` into the empty directory ``out``; returns ``out``.

    ``hf_preview``: the ``-hf-preview`` variant (``like.hf_preview`` must not be None).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # HF init draws from the global RNG; keep callers' state.
        if like.tower == "intern_vit":
            vision_cfg = _intern_vit(out / "vision_tower", like, generator)
        else:
            vision_cfg = write_siglip(out / "vision_tower", generator, like.image_size, like.patch_size,
                                      use_head=like.tower == "siglip-head")
        llm_cfg = write_llm(out / "llm", like.tokenizer, generator, arch=like.arch)
        mm_hidden = VISION_WIDTH * like.scales
        proj_cfg = write_projector(out / "mm_projector", like.projector, mm_hidden, generator)
    top: dict[str, Any] = {
        "architectures": ["LlavaLlamaModel"], "model_type": "llava_llama",
        "llm_cfg": llm_cfg, "vision_tower_cfg": vision_cfg, "mm_projector_cfg": proj_cfg,
        "hidden_size": LLM_WIDTH, "mm_hidden_size": mm_hidden, "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "cls_patch", "model_dtype": "torch.float32", "mm_use_im_start_end": False,
        "tokenizer_model_max_length": MAX_LENGTH, "_name_or_path": like.released,
        **like.top,
    }
    if hf_preview:
        top.update({
            "architectures": ["VILAForCausalLM"], "model_type": "vila", "version": "2.0",
            "chat_template": like.hf_preview or None,
            "auto_map": {"AutoConfig": "modeling_vila.VILAConfig", "AutoModel": "modeling_vila.VILAForCausalLM",
                         "AutoModelForCausalLM": "modeling_vila.VILAForCausalLM"},
        })
    (out / "config.json").write_text(json.dumps(top, indent=2, sort_keys=True) + "\n")
    return out
