"""A from-scratch starting checkpoint in the released VILA layout (what stage 1 starts from).

VILA starts from a pretrained LLM and a pretrained SigLIP; no such weights exist
on the machines this project trains on, so the tiny recipe starts from a freshly
initialised Qwen2-style LLM and SigLIP tower of the sizes in :class:`workers.training.recipe.Dims`, the
tokenizer of ``workers.training.tokenizer`` and an ``mlp_downsample`` projector.
The result loads with ``workers.runtime.load_model`` like any released checkpoint.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

import torch
from safetensors.torch import save_file
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM, SiglipVisionConfig, SiglipVisionModel

from workers.runtime.projectors import build_projector
from workers.training.recipe import Dims
from workers.training.tokenizer import END, MAX_LENGTH, PAD, special_id, write_tokenizer

VISION_PREFIX = "vision_model."
PREPROCESSOR = {
    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 3,
    "rescale_factor": 1 / 255,
}


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def vision_state(tower: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A SigLIP tower's weights under the released ``vision_model.*`` key names."""
    return {k if k.startswith(VISION_PREFIX) else VISION_PREFIX + k: v.detach().contiguous()
            for k, v in tower.state_dict().items()}


def top_config(dims: Dims, llm_cfg: dict, vision_cfg: dict, proj_cfg: dict) -> dict:
    """The released top-level ``config.json`` for these components."""
    return {
        "architectures": ["LlavaLlamaModel"], "model_type": "llava_llama",
        "llm_cfg": llm_cfg, "vision_tower_cfg": vision_cfg, "mm_projector_cfg": proj_cfg,
        "hidden_size": dims.llm_width, "mm_hidden_size": dims.vision_width, "image_aspect_ratio": "resize",
        "mm_vision_select_layer": -1, "mm_vision_select_feature": "cls_patch",
        "num_video_frames": dims.num_video_frames, "fps": 0.0, "model_dtype": "torch.float32",
        "mm_use_im_start_end": False, "mm_use_im_patch_token": False, "chat_template": "auto",
        "num_time_tokens": 0, "time_token_format": "<t{t}>", "s2": False, "dynamic_s2": False,
        "tokenizer_model_max_length": MAX_LENGTH,
        "image_encoder": '{"_target_": "llava.model.encoders.BasicImageEncoder"}',
        "video_encoder": '{"_target_": "llava.model.encoders.BasicVideoEncoder"}',
    }


def build_base(out: Path, texts: Iterable[str], dims: Dims = Dims(), *, seed: int = 0) -> Path:
    """Write a freshly initialised checkpoint to ``out`` (replacing it); returns ``out``."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    torch.manual_seed(seed)
    vocab = write_tokenizer(out / "llm", texts)
    eos, pad = special_id(out / "llm", END), special_id(out / "llm", PAD)
    llm_config = Qwen2Config(
        vocab_size=vocab, hidden_size=dims.llm_width, intermediate_size=dims.llm_ffn,
        num_hidden_layers=dims.llm_layers, num_attention_heads=dims.llm_heads,
        num_key_value_heads=dims.llm_kv_heads, max_position_embeddings=MAX_LENGTH, tie_word_embeddings=True,
        bos_token_id=eos, eos_token_id=eos, pad_token_id=pad, rope_theta=dims.rope_theta,
    )
    llm_config.architectures = ["Qwen2ForCausalLM"]
    llm = Qwen2ForCausalLM(llm_config)
    llm.save_pretrained(out / "llm")
    GenerationConfig(eos_token_id=eos, pad_token_id=pad, do_sample=False).save_pretrained(out / "llm")

    vision_config = SiglipVisionConfig(
        hidden_size=dims.vision_width, intermediate_size=2 * dims.vision_width,
        num_hidden_layers=dims.vision_layers, num_attention_heads=dims.vision_heads,
        image_size=dims.image_size, patch_size=dims.patch_size, vision_use_head=False,
    )
    vision_config.architectures = ["SiglipVisionModel"]
    (out / "vision_tower").mkdir(parents=True)
    save_file(vision_state(SiglipVisionModel(vision_config)), out / "vision_tower" / "model.safetensors",
              metadata={"format": "pt"})
    vision_config.save_pretrained(out / "vision_tower")
    write_json(out / "vision_tower" / "preprocessor_config.json",
               {**PREPROCESSOR, "size": {"height": dims.image_size, "width": dims.image_size}})

    projector = build_projector(dims.projector, dims.vision_width, dims.llm_width)
    proj_cfg = {"architectures": ["MultimodalProjector"], "mm_projector_type": dims.projector,
                "model_type": "v2l_projector"}
    (out / "mm_projector").mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in projector.state_dict().items()},
              out / "mm_projector" / "model.safetensors", metadata={"format": "pt"})
    write_json(out / "mm_projector" / "config.json", proj_cfg)
    write_json(out / "config.json", top_config(dims, llm_config.to_dict(), vision_config.to_dict(), proj_cfg))
    write_json(out / "dims.json", asdict(dims))
    return out
