"""Random-weight checkpoints at released VILA models' dimensions, for benchmarks (no weights are downloadable).

``write_random_checkpoint(out, spec, layers=None, dtype=...)`` writes a checkpoint
in the released ``llava_llama`` layout (``config.json``, ``llm/``,
``vision_tower/``, ``mm_projector/``) whose component shapes are those of the
released model, so that compute and memory match it; the weights are random
(HF's own initialisation) and the tokenizer is the tiny test tokenizer (its
~500 ids are all a random model can be asked to emit; the embedding and output
layers keep the released vocabulary size, so their cost is the real one).

Dimensions (``SPECS``), from ../shared/docs/vila-reference.md where it gives
them and from the public configs of the named base models otherwise:

- ``nvila-lite-2b``: Qwen2.5-1.5B (28 layers, hidden 1536, 12 heads / 2 KV heads,
  MLP 8960, tied embeddings, vocab 151648 as NVILA resizes Qwen's to the tokenizer
  plus [BOS]/[PAD]), SigLIP so400m-p14-448 (27 layers, 1152, MLP 4304, 16 heads,
  no head), ``mlp_downsample_3x3_fix`` (121 tokens per frame), ``auto`` (Qwen) template.
- ``vila1.5-3b``: Sheared-LLaMA-2.7B (32 layers, hidden 2560, 20 heads, MLP 6912,
  vocab 32000, max positions 4096), SigLIP so400m-p14-384, ``mlp_downsample``
  (196 tokens per frame), ``vicuna_v1`` template.

``layers`` caps both the LLM's and the vision tower's layer count (smoke tests).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from transformers import SiglipVisionConfig, SiglipVisionModel

from workers.runtime.projectors import build_projector
from workers.runtime.tiny.tokenizer import special_ids, write_tokenizer

VISION_PREFIX = "vision_model."


@dataclass(frozen=True)
class ModelSpec:
    name: str
    llm_style: str  # tiny tokenizer style and LLM class: "qwen2" or "llama"
    llm: dict[str, Any]
    image_size: int
    projector: str
    template: str | None
    max_length: int
    vision_layers: int = 27
    vision_width: int = 1152
    vision_mlp: int = 4304
    vision_heads: int = 16
    patch_size: int = 14
    aspect: str = "resize"  # config.json image_aspect_ratio as released (NVILA-Lite: dynamic)


SPECS: dict[str, ModelSpec] = {
    "nvila-lite-2b": ModelSpec(
        name="nvila-lite-2b", llm_style="qwen2", image_size=448, projector="mlp_downsample_3x3_fix", template=None,
        max_length=32768, aspect="dynamic",
        llm=dict(vocab_size=151648, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                 num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6,
                 tie_word_embeddings=True, rms_norm_eps=1e-6),
    ),
    "vila1.5-3b": ModelSpec(
        name="vila1.5-3b", llm_style="llama", image_size=384, projector="mlp_downsample", template="vicuna_v1",
        max_length=4096,
        llm=dict(vocab_size=32000, hidden_size=2560, intermediate_size=6912, num_hidden_layers=32,
                 num_attention_heads=20, num_key_value_heads=20, max_position_embeddings=4096, rope_theta=1e4,
                 tie_word_embeddings=False, rms_norm_eps=1e-5),
    ),
}
LLM_CLASSES = {"qwen2": (Qwen2Config, Qwen2ForCausalLM), "llama": (LlamaConfig, LlamaForCausalLM)}


def _save(module: torch.nn.Module, folder: Path, dtype: torch.dtype, prefix: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {key if key.startswith(prefix) else prefix + key: tensor.detach().to("cpu", dtype).contiguous()
             for key, tensor in module.state_dict().items()}
    # Tied embeddings share storage; safetensors refuses aliases, and the loader re-ties them.
    if getattr(getattr(module, "config", None), "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})


def write_random_checkpoint(out: str | Path, spec: ModelSpec, *, layers: int | None = None,
                            dtype: torch.dtype = torch.bfloat16, init_device: str = "cpu", seed: int = 0) -> Path:
    """Write a random checkpoint shaped like ``spec`` into ``out`` (see the module docstring); returns ``out``."""
    out = Path(out)
    torch.manual_seed(seed)
    vision_layers = min(layers, spec.vision_layers) if layers else spec.vision_layers
    llm_layers = min(layers, spec.llm["num_hidden_layers"]) if layers else spec.llm["num_hidden_layers"]

    vision_cfg = SiglipVisionConfig(
        hidden_size=spec.vision_width, intermediate_size=spec.vision_mlp, num_hidden_layers=vision_layers,
        num_attention_heads=spec.vision_heads, image_size=spec.image_size, patch_size=spec.patch_size,
        vision_use_head=False,
    )
    vision_cfg.architectures = ["SiglipVisionModel"]
    with torch.device(init_device):
        tower = SiglipVisionModel(vision_cfg)
    _save(tower, out / "vision_tower", dtype, VISION_PREFIX)
    del tower
    vision_cfg.save_pretrained(out / "vision_tower")
    preprocessor = {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": spec.image_size, "width": spec.image_size},
    }
    (out / "vision_tower" / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2) + "\n")

    llm_dir = out / "llm"
    llm_dir.mkdir(parents=True, exist_ok=True)
    write_tokenizer(llm_dir, spec.llm_style)
    tokenizer_config = json.loads((llm_dir / "tokenizer_config.json").read_text())
    tokenizer_config["model_max_length"] = spec.max_length
    (llm_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n")
    ids = special_ids(spec.llm_style)
    config_cls, model_cls = LLM_CLASSES[spec.llm_style]
    llm_cfg = config_cls(**{**spec.llm, "num_hidden_layers": llm_layers}, bos_token_id=ids["bos"],
                         eos_token_id=ids["eos"], pad_token_id=ids["pad"])
    llm_cfg.architectures = [model_cls.__name__]
    with torch.device(init_device):
        llm = model_cls(llm_cfg)
    _save(llm, llm_dir, dtype)
    del llm
    llm_cfg.save_pretrained(llm_dir)
    GenerationConfig(bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
                     do_sample=False).save_pretrained(llm_dir)

    hidden = spec.llm["hidden_size"]
    projector = build_projector(spec.projector, spec.vision_width, hidden)
    proj_cfg = {"architectures": ["MultimodalProjector"], "mm_projector_type": spec.projector,
                "model_type": "v2l_projector"}
    _save(projector, out / "mm_projector", dtype)
    (out / "mm_projector" / "config.json").write_text(json.dumps(proj_cfg, indent=2) + "\n")

    top = {
        "architectures": ["LlavaLlamaModel"], "model_type": "llava_llama",
        "llm_cfg": llm_cfg.to_dict(), "vision_tower_cfg": vision_cfg.to_dict(), "mm_projector_cfg": proj_cfg,
        "hidden_size": hidden, "mm_hidden_size": spec.vision_width, "image_aspect_ratio": spec.aspect,
        "mm_vision_select_layer": -2, "mm_vision_select_feature": "cls_patch", "num_video_frames": 8,
        "fps": 0.0, "model_dtype": f"torch.{str(dtype).removeprefix('torch.')}", "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False, "chat_template": spec.template, "num_time_tokens": 0,
        "time_token_format": "<t{t}>", "interpolate_mode": "linear", "vision_resolution": -1, "s2": False,
        "dynamic_s2": False, "min_tiles": 1, "max_tiles": 12, "video_max_tiles": 1,
        "tokenizer_model_max_length": spec.max_length,
        "image_encoder": '{"_target_": "llava.model.encoders.BasicImageEncoder"}',
        "video_encoder": '{"_target_": "llava.model.encoders.BasicVideoEncoder"}',
    }
    (out / "config.json").write_text(json.dumps(top, indent=2, sort_keys=True) + "\n")
    return out
