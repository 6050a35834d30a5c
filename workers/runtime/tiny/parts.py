"""The components every tiny checkpoint is made of: vision tower, LLM + tokenizer, projector.

Each writer fills one sub-folder the way the released checkpoints store it and returns the
config dict that the top-level ``config.json`` embeds. Weights come from the caller's
``torch.Generator`` (``fill_weights``: sorted key order), so one seed gives the same bytes.
Sizes: SigLIP 64 px / patch 8 / 2 layers / width 64, a 2-layer LLM of width 64.
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
from workers.runtime.projectors import build_projector
from workers.runtime.tiny.spm import spm_special_ids, spm_word_ids, write_spm_tokenizer
from workers.runtime.tiny.tokenizer import MAX_LENGTH, special_ids, word_token_ids, write_tokenizer

IMAGE_SIZE, PATCH_SIZE, VISION_WIDTH, VISION_LAYERS = 64, 8, 64, 2
LLM_WIDTH, LLM_LAYERS = 64, 2
VISION_PREFIX = "vision_model."
# Scales the end-of-turn row of the output layer: with it, the random model ends
# some answers early and runs others to the limit, so batches mix finished and
# running rows (the interesting case for left-padded greedy decoding).
EOS_SCALE = 1.1
# llm name -> (config class, model class, chat template of the generic tiny checkpoint)
LLMS = {"qwen2": (Qwen2Config, Qwen2ForCausalLM, None), "llama": (LlamaConfig, LlamaForCausalLM, "vicuna_v1")}
SPM_STYLE = "llama-spm"  # Llama-2's SentencePiece tokenizer.model (VILA1.5 3b/13b)


def fill_weights(module: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Overwrite every parameter of ``module`` deterministically; returns the state dict to save.

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


def save_component(folder: Path, state: dict[str, torch.Tensor], config: dict[str, Any] | None = None) -> None:
    """Write ``model.safetensors`` (and ``config.json`` when given) into ``folder``, creating it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(save(state, metadata={"format": "pt"}))
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_siglip(folder: Path, generator: torch.Generator, image_size: int = IMAGE_SIZE,
                 patch_size: int = PATCH_SIZE, use_head: bool = False) -> dict[str, Any]:
    """A SigLIP tower (``use_head``: with its MAP head) and its preprocessor; returns its config."""
    config = SiglipVisionConfig(
        hidden_size=VISION_WIDTH, intermediate_size=2 * VISION_WIDTH, num_hidden_layers=VISION_LAYERS,
        num_attention_heads=4, image_size=image_size, patch_size=patch_size, vision_use_head=use_head,
    )
    config.architectures = ["SiglipVisionModel"]
    state = fill_weights(SiglipVisionModel(config), generator)
    # Released towers (and transformers 4.x) key the weights "vision_model.*"; transformers 5's
    # SiglipVisionModel drops that level and strips the prefix (its base_model_prefix) on load.
    save_component(folder, {k if k.startswith(VISION_PREFIX) else VISION_PREFIX + k: v for k, v in state.items()})
    config.save_pretrained(folder)
    preprocessor = {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": image_size, "width": image_size},
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2, sort_keys=True) + "\n")
    return config.to_dict()


def write_llm(folder: Path, style: str, generator: torch.Generator, arch: str | None = None) -> dict[str, Any]:
    """LLM + tokenizer; returns the LLM's config.

    ``style`` picks the tokenizer (``tokenizer.STYLES``, or ``SPM_STYLE`` for a SentencePiece
    ``tokenizer.model``: ``spm``), ``arch`` the network (a key of ``LLMS``; default ``style``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if style == SPM_STYLE:
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
    state = fill_weights(model_cls(config), generator)
    # Only whole words and the end of turn may win the argmax (see word_token_ids),
    # so the random model writes readable, space-separated words.
    allowed = torch.zeros(vocab, dtype=torch.bool)
    allowed[words + [ids["eos"]]] = True
    head = state["lm_head.weight"]
    head[~allowed] = 0.0
    head[ids["eos"]] *= EOS_SCALE
    save_component(folder, state)
    config.save_pretrained(folder)
    GenerationConfig(bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
                     do_sample=False).save_pretrained(folder)
    return config.to_dict()


def write_projector(folder: Path, projector: str, mm_hidden: int, generator: torch.Generator) -> dict[str, Any]:
    """A ``projector`` (registered ``mm_projector_type``) from ``mm_hidden`` to the LLM width; returns its config."""
    config = {"architectures": ["MultimodalProjector"], "mm_projector_type": projector,
              "model_type": "v2l_projector"}
    save_component(folder, fill_weights(build_projector(projector, mm_hidden, LLM_WIDTH), generator), config)
    return config


def prepare_out(out: str | Path, overwrite: bool) -> Path:
    """``out`` as an empty directory; InvalidInput when it is a non-empty one (unless ``overwrite``)."""
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise InvalidInput(f"{out} already exists and is not an empty directory")
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out
