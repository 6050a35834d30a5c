"""``load_model``: the one way a VILA checkpoint becomes a :class:`VilaModel`.

Steps: validate the directory (``layout.read_checkpoint``), pick the family
loader by the top-level ``model_type`` (registry ``FAMILIES``), then build the
vision tower (HF ``SiglipVisionModel``), the projector (``projectors`` registry,
released key names, strict), the LLM (``AutoModelForCausalLM``) and the
tokenizer (``AutoTokenizer``), add the media tokens, and pick the template.

Failure modes: ``ModelLayoutError`` naming the file/field for anything wrong
with the directory; ``InvalidInput`` for a bad ``device``/``dtype`` argument.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from services.core.errors import InvalidInput, ModelLayoutError
from workers.runtime.layout import Checkpoint, read_checkpoint
from workers.runtime.media import add_media_tokens
from workers.runtime.model import VilaModel
from workers.runtime.projectors import Projector, build_projector
from workers.runtime.templates import Template, get_template, known_templates, template_name_for
from workers.runtime.vision import ImageProcessor, load_vision_tower
from workers.runtime.weights import require_all_weights

DTYPES = {
    "float32": torch.float32, "fp32": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
}


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device`` for ``device``; InvalidInput when it is malformed or not available."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidInput(f"device {device!r} is not a valid torch device: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInput(f"device {device!r} requested but CUDA is not available")
    return resolved


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """None -> float32 on CPU, bfloat16 on CUDA (float16 where bf16 is unsupported)."""
    if dtype is None or dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    key = str(dtype).removeprefix("torch.").lower()
    if key not in DTYPES:
        raise InvalidInput(f"dtype {dtype!r} is not supported; use one of {', '.join(sorted(DTYPES))}")
    return DTYPES[key]


def load_projector(ckpt: Checkpoint, dtype: torch.dtype) -> Projector:
    """Projector with strictly matching keys/shapes; ModelLayoutError names the file and keys."""
    projector = build_projector(ckpt.projector_type, ckpt.config.mm_hidden_size, ckpt.config.hidden_size)
    folder = ckpt.projector_dir
    index = folder / "model.safetensors.index.json"
    try:
        if (folder / "model.safetensors").is_file():
            state = load_file(folder / "model.safetensors")
        else:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state = {k: v for shard in shards for k, v in load_file(folder / shard).items()}
    except Exception as exc:  # safetensors raises its own error types
        raise ModelLayoutError(f"{folder / 'model.safetensors'} could not be read: {exc}") from None
    expected = projector.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelLayoutError(
            f"{folder / 'model.safetensors'} keys do not match mm_projector_type {ckpt.projector_type!r}: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    wrong = [k for k in expected if tuple(expected[k].shape) != tuple(state[k].shape)]
    if wrong:
        k = wrong[0]
        raise ModelLayoutError(
            f"{folder / 'model.safetensors'}: '{k}' has shape {tuple(state[k].shape)}, expected "
            f"{tuple(expected[k].shape)} (check mm_hidden_size/hidden_size in {ckpt.root / 'config.json'})"
        )
    projector.load_state_dict(state, strict=True)
    return projector.to(dtype).eval()


def select_template(ckpt: Checkpoint, tokenizer: object) -> Template:
    name = template_name_for(ckpt.config.chat_template, str(ckpt.root))
    try:
        template = get_template(name)
    except KeyError:
        raise ModelLayoutError(
            f"{ckpt.root / 'config.json'}: conversation template {name!r} (field 'chat_template' or the path) "
            f"is not supported; supported: {', '.join(known_templates())}"
        ) from None
    if name == "auto" and not getattr(tokenizer, "chat_template", None):
        raise ModelLayoutError(f"{ckpt.llm_dir / 'tokenizer_config.json'}: field 'chat_template' is missing "
                               "(needed by the 'auto' template)")
    return template


def _load_llava_llama(ckpt: Checkpoint, device: torch.device, dtype: torch.dtype) -> VilaModel:
    cfg = ckpt.config
    vision_hidden = ckpt.vision_config.get("hidden_size")
    if vision_hidden != cfg.mm_hidden_size:
        raise ModelLayoutError(f"{ckpt.root / 'config.json'}: field 'mm_hidden_size' is {cfg.mm_hidden_size} but "
                               f"{ckpt.vision_dir / 'config.json'} has hidden_size {vision_hidden}")
    processor = ImageProcessor.from_config(ckpt.preprocessor, cfg.image_aspect_ratio,
                                           ckpt.vision_dir / "preprocessor_config.json")
    tower = load_vision_tower(ckpt.vision_dir, ckpt.vision_config, cfg.select_layer, cfg.select_feature, dtype)
    projector = load_projector(ckpt, dtype)
    try:
        llm, info = AutoModelForCausalLM.from_pretrained(
            ckpt.llm_dir, dtype=dtype, output_loading_info=True, local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(ckpt.llm_dir, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLayoutError(f"{ckpt.llm_dir}: could not load the LLM or its tokenizer: {exc}") from None
    require_all_weights(info, ckpt.llm_dir)
    media = add_media_tokens(tokenizer, llm)
    template = select_template(ckpt, tokenizer)
    return VilaModel(
        llm=llm.to(device).eval(), tokenizer=tokenizer, tower=tower.to(device), projector=projector.to(device),
        processor=processor, template=template, media=media, model_id=ckpt.root.resolve().name,
        path=str(ckpt.root.resolve()), family=cfg.model_type,
    )


# Top-level ``model_type`` -> loader. NVILA ``-hf`` layouts ("nvila", "vila") would register here.
FAMILIES: dict[str, Callable[[Checkpoint, torch.device, torch.dtype], VilaModel]] = {
    "llava_llama": _load_llava_llama,
}


def load_model(path: str | Path, device: str | torch.device = "cpu", dtype: str | torch.dtype | None = None) -> VilaModel:
    """Load the checkpoint at ``path`` onto ``device``.

    ``dtype`` None picks float32 on CPU and bfloat16 (else float16) on CUDA.
    Raises ModelLayoutError (names the file/field) or InvalidInput (bad device/dtype).
    """
    resolved = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, resolved)
    ckpt = read_checkpoint(path)
    family = FAMILIES.get(ckpt.config.model_type)
    if family is None:
        raise ModelLayoutError(f"{ckpt.root / 'config.json'}: field 'model_type' is {ckpt.config.model_type!r}; "
                               f"supported: {', '.join(FAMILIES)}")
    return family(ckpt, resolved, torch_dtype)
