"""``load_model``: the one way a VILA checkpoint becomes a :class:`VilaModel`.

Steps: validate the directory and detect the family from its config fields
(``layout.read_checkpoint``), pick the layout loader by the top-level
``model_type`` (registry ``FAMILIES``: ``llava_llama`` and the ``vila`` of the
``-hf-preview`` repos), then build the vision tower (``vision.TOWERS``: SigLIP or
InternViT), the projector (``projectors`` registry, released key names, strict,
block order of the family's code generation), the LLM (``AutoModelForCausalLM``)
and the tokenizer (``AutoTokenizer``), add the media tokens, and pick the
template (config ``chat_template`` name, else the family's).

Failure modes: ``ModelLayoutError`` naming the file/field for anything wrong
with the directory; ``InvalidInput`` for a bad ``device``/``dtype`` argument.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from transformers import SiglipVisionConfig, SiglipVisionModel

from core.errors import InvalidInput, ModelLayoutError
from workers.runtime.checkpoint import Checkpoint
from workers.runtime.counts import image_tokens
from workers.runtime.encoding import MediaSettings
from workers.runtime.flat_hf import load_strict, split_state
from workers.runtime.layout import read_checkpoint
from workers.runtime.media import IMAGE, VIDEO, add_media_tokens
from workers.runtime.model import VilaModel
from workers.runtime.projectors import Projector, build_projector
from workers.runtime.templates import Template, get_template, known_templates, template_name_for
from workers.runtime.vision import ImageProcessor, VisionTower, load_vision_tower, tower_kind
from workers.runtime.weights import read_state, require_all_weights

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
    projector = build_projector(ckpt.projector_type, ckpt.config.mm_hidden_size, ckpt.config.hidden_size,
                                ckpt.family.merge_order)
    folder = ckpt.projector_dir
    state = read_state(folder)
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
    name = template_name_for(ckpt.config.chat_template, ckpt.family.default_template(ckpt.facts))
    try:
        template = get_template(name)
    except KeyError:
        raise ModelLayoutError(
            f"{ckpt.root / 'config.json'}: conversation template {name!r} (field 'chat_template') "
            f"is not supported; supported: {', '.join(known_templates())}"
        ) from None
    if name == "auto" and not getattr(tokenizer, "chat_template", None):
        raise ModelLayoutError(f"{ckpt.llm_dir / 'tokenizer_config.json'}: field 'chat_template' is missing "
                               "(needed by the 'auto' template)")
    return template


def media_settings(ckpt: Checkpoint) -> MediaSettings:
    cfg = ckpt.config
    return MediaSettings(
        generation=ckpt.family.generation, aspect=cfg.image_aspect_ratio, s2=cfg.s2, dynamic_s2=cfg.dynamic_s2,
        s2_scales=cfg.s2_scales, s2_split=cfg.s2_max_split_size, min_tiles=cfg.min_tiles, max_tiles=cfg.max_tiles,
        pool_sizes=cfg.video_pool_sizes, frame_sampling=ckpt.family.frame_sampling,
    )


def check_vision_widths(ckpt: Checkpoint, tile: int) -> None:
    """mm_hidden_size must be the tower width (times the number of S2 scales); S2 sizes must fit the tile."""
    cfg, top = ckpt.config, ckpt.root / "config.json"
    vision_hidden = ckpt.vision_config.get("hidden_size")
    scales = len(cfg.s2_scales) if (cfg.s2 or cfg.dynamic_s2) else 1
    if not isinstance(vision_hidden, int) or vision_hidden * scales != cfg.mm_hidden_size:
        raise ModelLayoutError(f"{top}: field 'mm_hidden_size' is {cfg.mm_hidden_size} but "
                               f"{ckpt.vision_dir / 'config.json'} has hidden_size {vision_hidden}"
                               + (f" x {scales} S2 scales" if scales > 1 else ""))
    if cfg.s2 and cfg.s2_max_split_size != tile:
        raise ModelLayoutError(f"{top}: field 's2_max_split_size' is {cfg.s2_max_split_size}; "
                               f"the vision tower takes {tile} px")
    if cfg.dynamic_s2 and any(s % tile for s in cfg.s2_scales):
        raise ModelLayoutError(f"{top}: field 's2_scales' {list(cfg.s2_scales)} must be multiples of {tile}")


def _processor(ckpt: Checkpoint) -> ImageProcessor:
    kind = tower_kind(ckpt.vision_config, ckpt.vision_dir / "config.json")
    processor = kind.processor(ckpt.vision_config, ckpt.preprocessor, ckpt.config.image_aspect_ratio,
                               ckpt.vision_dir / "preprocessor_config.json")
    check_vision_widths(ckpt, processor.tile)
    return processor


def _assemble(ckpt: Checkpoint, llm: torch.nn.Module, tokenizer: object, tower: VisionTower, projector: Projector,
              processor: ImageProcessor, device: torch.device) -> VilaModel:
    """The common tail: media tokens, template, token counts, the model on ``device``."""
    cfg = ckpt.config
    per_tile = projector.num_tokens(tower.num_tokens)
    side = math.isqrt(per_tile)
    for pool in cfg.video_pool_sizes:
        if side * side != per_tile or side % pool[1] or side % pool[2]:
            raise ModelLayoutError(f"{ckpt.root / 'config.json'}: 'video_encoder' pool size {list(pool)} does not "
                                   f"divide the {side}x{side} grid of projected tokens")
    media = add_media_tokens(tokenizer, llm)
    template = select_template(ckpt, tokenizer)
    return VilaModel(
        llm=llm.to(device).eval(), tokenizer=tokenizer, tower=tower.to(device), projector=projector.to(device),
        processor=processor, template=template, media=media, model_id=ckpt.root.resolve().name,
        path=str(ckpt.root.resolve()), family=ckpt.family.name, settings=media_settings(ckpt),
        tokens_per_image=image_tokens(per_tile, cfg.image_aspect_ratio, cfg.s2_scales, processor.tile),
        layout=cfg.layout, video_frames=cfg.num_video_frames,
    )


def _tokenizer(folder: Path, config: object | None = None) -> object:
    """The tokenizer in ``folder``; ``config`` (the LLM's) spares transformers reading a flat ``config.json``."""
    try:
        extra = {"config": config} if config is not None else {}
        return AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLayoutError(f"{folder}: could not load the tokenizer: {exc}") from None


def _load_llava_llama(ckpt: Checkpoint, device: torch.device, dtype: torch.dtype) -> VilaModel:
    cfg = ckpt.config
    processor = _processor(ckpt)
    tower = load_vision_tower(ckpt.vision_dir, ckpt.vision_config, cfg.select_layer, cfg.select_feature, dtype)
    projector = load_projector(ckpt, dtype)
    try:
        llm, info = AutoModelForCausalLM.from_pretrained(
            ckpt.llm_dir, dtype=dtype, output_loading_info=True, local_files_only=True
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLayoutError(f"{ckpt.llm_dir}: could not load the LLM or its tokenizer: {exc}") from None
    require_all_weights(info, ckpt.llm_dir)
    return _assemble(ckpt, llm, _tokenizer(ckpt.llm_dir), tower, projector, processor, device)


def _load_flat(ckpt: Checkpoint, device: torch.device, dtype: torch.dtype) -> VilaModel:
    """The flat ``-hf`` layout: modules from ``text_config``/``vision_config``, tensors split by prefix."""
    raw, cfg, where = ckpt.raw or {}, ckpt.config, ckpt.root / "model.safetensors"
    processor = _processor(ckpt)
    parts = split_state(ckpt.root)
    try:
        text = Qwen2Config(**ckpt.llm_config)
        vision = SiglipVisionConfig(**{k: v for k, v in ckpt.vision_config.items() if k != "model_type"})
    except (TypeError, ValueError) as exc:
        raise ModelLayoutError(f"{ckpt.root / 'config.json'}: 'text_config'/'vision_config' not understood: {exc}")
    llm = Qwen2ForCausalLM(text)
    tied = ("lm_head.weight",) if text.tie_word_embeddings else ()
    load_strict(llm, parts["llm"], f"{where} (llm.*)", tied)
    siglip = SiglipVisionModel(vision)
    load_strict(siglip, parts["vision_tower"], f"{where} (vision_tower.*)")
    name = f"siglip-{vision.image_size}px-p{vision.patch_size}-{vision.num_hidden_layers}l-{vision.hidden_size}"
    tower = VisionTower(siglip.to(dtype).eval(), cfg.select_layer, cfg.select_feature, name)
    projector = build_projector(ckpt.projector_type, cfg.mm_hidden_size, cfg.hidden_size, ckpt.family.merge_order)
    load_strict(projector, parts["mm_projector"], f"{where} (mm_projector.*)")
    tokenizer = _tokenizer(ckpt.root, text)
    for field, token in (("image_token_id", IMAGE), ("video_token_id", VIDEO)):
        if tokenizer.convert_ids_to_tokens(int(raw[field])) != token:  # type: ignore[attr-defined]
            raise ModelLayoutError(f"{ckpt.root / 'config.json'}: field '{field}' is {raw[field]}, which the "
                                   f"tokenizer does not map to {token!r}")
    return _assemble(ckpt, llm.to(dtype), tokenizer, tower, projector.to(dtype).eval(), processor, device)


# Top-level ``model_type`` -> loader.
FAMILIES: dict[str, Callable[[Checkpoint, torch.device, torch.dtype], VilaModel]] = {
    "llava_llama": _load_llava_llama,
    "vila": _load_llava_llama,  # -hf-preview: same folders, remote code not needed
    "nvila": _load_flat,
    "nvila_lite": _load_flat,
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
