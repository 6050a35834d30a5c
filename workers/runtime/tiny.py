"""``make_tiny``: a tiny random-weight VILA checkpoint in the released layout.

It goes through exactly the same loader and forward pass as a real checkpoint;
only the sizes are small (SigLIP 64 px / patch 8 / 2 layers / width 64, a
2-layer LLM of width 64, a byte-level BPE tokenizer whose ~450 listed words are
single tokens, and an output layer that only emits those words). Weights are
drawn from a ``torch.Generator`` seeded with ``seed`` in sorted key order, so the
same seed gives byte-identical ``model.safetensors`` files.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save
from torch import nn
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from transformers import SiglipVisionConfig, SiglipVisionModel

from core.errors import InvalidInput
from workers.runtime.projectors import build_projector, find_builder
from workers.runtime.tiny_tokenizer import MAX_LENGTH, special_ids, word_token_ids, write_tokenizer

IMAGE_SIZE, PATCH_SIZE, VISION_WIDTH, VISION_LAYERS = 64, 8, 64, 2
LLM_WIDTH, LLM_LAYERS = 64, 2
VISION_PREFIX = "vision_model."
# Scales the end-of-turn row of the output layer: with it, the random model ends
# some answers early and runs others to the limit, so batches mix finished and
# running rows (the interesting case for left-padded greedy decoding).
EOS_SCALE = 1.1
LLMS = {"qwen2": (Qwen2Config, Qwen2ForCausalLM, None), "llama": (LlamaConfig, LlamaForCausalLM, "vicuna_v1")}
ENCODERS = {
    "image_encoder": '{"_target_": "llava.model.encoders.BasicImageEncoder"}',
    "video_encoder": '{"_target_": "llava.model.encoders.BasicVideoEncoder"}',
}


def _fill(module: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Overwrite every parameter deterministically; returns the state dict to save.

    Matrices get N(0, 1/fan_in) (embeddings N(0, 1)), vectors named ``*weight`` of
    norms stay 1, biases N(0, 0.02). Big enough that greedy choices are not near ties.
    """
    with torch.no_grad():
        for name, param in sorted(module.named_parameters()):
            if param.ndim == 1:
                if name.endswith("bias"):
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
                else:
                    param.fill_(1.0)
            else:
                fan_in = 1 if "embed" in name else math.prod(param.shape[1:])
                param.copy_(torch.randn(param.shape, generator=generator) / math.sqrt(fan_in))
    return {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}


def _save(folder: Path, state: dict[str, torch.Tensor], config: dict[str, Any] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(save(state, metadata={"format": "pt"}))
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _vision(folder: Path, generator: torch.Generator, image_size: int = IMAGE_SIZE, patch_size: int = PATCH_SIZE,
            use_head: bool = False) -> dict[str, Any]:
    config = SiglipVisionConfig(
        hidden_size=VISION_WIDTH, intermediate_size=2 * VISION_WIDTH, num_hidden_layers=VISION_LAYERS,
        num_attention_heads=4, image_size=image_size, patch_size=patch_size, vision_use_head=use_head,
    )
    config.architectures = ["SiglipVisionModel"]
    state = _fill(SiglipVisionModel(config), generator)
    # Released towers (and transformers 4.x) key the weights "vision_model.*"; transformers 5's
    # SiglipVisionModel drops that level and strips the prefix (its base_model_prefix) on load.
    _save(folder, {k if k.startswith(VISION_PREFIX) else VISION_PREFIX + k: v for k, v in state.items()})
    config.save_pretrained(folder)
    preprocessor = {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": image_size, "width": image_size},
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2, sort_keys=True) + "\n")
    return config.to_dict()


def _llm(folder: Path, style: str, generator: torch.Generator, arch: str | None = None) -> dict[str, Any]:
    """LLM + tokenizer; ``style`` picks the tokenizer (tiny_tokenizer.STYLES, or ``llama-spm`` for a
    SentencePiece ``tokenizer.model``: ``tiny_spm``), ``arch`` the network (LLMS)."""
    folder.mkdir(parents=True, exist_ok=True)
    if style == "llama-spm":  # Llama-2's tokenizer.model (VILA1.5 3b/13b)
        from workers.runtime.tiny_spm import spm_special_ids, spm_word_ids, write_spm_tokenizer

        vocab, ids, words = write_spm_tokenizer(folder), spm_special_ids(), spm_word_ids()
    else:
        vocab, ids, words = write_tokenizer(folder, style), special_ids(style), word_token_ids(style)
    config_cls, model_cls, _ = LLMS[arch or style]
    config = config_cls(
        vocab_size=vocab, hidden_size=LLM_WIDTH, intermediate_size=2 * LLM_WIDTH, num_hidden_layers=LLM_LAYERS,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_LENGTH,
        tie_word_embeddings=False, bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
    )
    config.architectures = [model_cls.__name__]
    state = _fill(model_cls(config), generator)
    # Only whole words and the end of turn may win the argmax (see word_token_ids),
    # so the random model writes readable, space-separated words.
    allowed = torch.zeros(vocab, dtype=torch.bool)
    allowed[words + [ids["eos"]]] = True
    head = state["lm_head.weight"]
    head[~allowed] = 0.0
    head[ids["eos"]] *= EOS_SCALE
    _save(folder, state)
    config.save_pretrained(folder)
    GenerationConfig(bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
                     do_sample=False).save_pretrained(folder)
    return config.to_dict()


def prepare_out(out: str | Path, overwrite: bool) -> Path:
    """``out`` as an empty directory; InvalidInput when it is a non-empty one (unless ``overwrite``)."""
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise InvalidInput(f"{out} already exists and is not an empty directory")
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def make_tiny(out: str | Path, *, seed: int = 0, llm: str = "qwen2", projector: str = "mlp_downsample",
              overwrite: bool = False, like: str | None = None) -> Path:
    """Write a tiny random checkpoint to ``out`` and return its path.

    ``like`` names a released checkpoint (``tiny_families.LIKES``, e.g. ``vila1.5-3b``,
    ``nvila-lite-2b``): its config fields, sub-folder files and key names with tiny
    sizes; ``llm``/``projector`` are then ignored. Without it: ``llm`` is ``qwen2``
    (NVILA-style, ``auto`` template) or ``llama`` (VILA1.5-style, ``vicuna_v1``);
    ``projector`` any registered ``mm_projector_type``.
    Raises InvalidInput when ``out`` is a non-empty directory (unless ``overwrite``)
    or an option is unknown.
    """
    if like is not None:
        from workers.runtime.tiny_families import make_like

        return make_like(out, like, seed=seed, overwrite=overwrite)
    out = Path(out).expanduser()
    if llm not in LLMS:
        raise InvalidInput(f"unknown tiny llm {llm!r}; choose one of {', '.join(LLMS)}")
    if find_builder(projector) is None:
        raise InvalidInput(f"unknown projector type {projector!r}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise InvalidInput(f"{out} already exists and is not an empty directory")
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    out.mkdir(parents=True, exist_ok=True)

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # HF init draws from the global RNG; keep callers' state.
        vision_cfg = _vision(out / "vision_tower", generator)
        llm_cfg = _llm(out / "llm", llm, generator)
        proj = build_projector(projector, VISION_WIDTH, LLM_WIDTH)
        proj_cfg = {"architectures": ["MultimodalProjector"], "mm_projector_type": projector,
                    "model_type": "v2l_projector"}
        _save(out / "mm_projector", _fill(proj, generator), proj_cfg)

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
