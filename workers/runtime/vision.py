"""Vision side: image preprocessing and the vision tower's feature selection.

``ImageProcessor`` turns PIL images into a normalised (N, 3, H, W) float tensor
following ``vision_tower/preprocessor_config.json`` and the model's
``image_aspect_ratio``. ``VisionTower`` runs the HF vision model and returns
``hidden_states[select_layer]`` (no post-layernorm, no head), dropping token 0
for ``select_feature == "patch"``.

Towers are looked up by the vision config's ``model_type`` in ``TOWERS``:
SigLIP (HF ``SiglipVisionModel``, processor from ``preprocessor_config.json``) and
InternViT (``intern_vit``; the reference hard-codes its processor: bicubic resize
to the tower's image size and ImageNet mean/std).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import SiglipVisionModel

from core.errors import ModelLayoutError
from workers.runtime.weights import require_all_weights


def tower_tokens(image_size: int, patch_size: int, select_feature: str, has_cls: bool) -> int:
    """Tokens a tower hands on per image: patches (+ CLS when it has one), minus token 0 for ``patch``."""
    tokens = (image_size // patch_size) ** 2 + (1 if has_cls else 0)
    return tokens - 1 if select_feature == "patch" else tokens


@dataclass(frozen=True)
class ImageProcessor:
    """Resize (or pad then resize), rescale and normalise images, as the SigLIP processor does.

    ``aspect`` is ``resize`` (square resize, no aspect preservation), ``pad``
    (centre on a square filled with the mean colour first), or ``dynamic`` /
    ``dynamic_s2`` (tiling happens before, in ``tiling``; a tile or an untiled
    image is resized like ``resize``).
    """

    height: int
    width: int
    resample: int
    rescale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    aspect: str = "resize"

    @classmethod
    def from_config(cls, config: dict[str, Any], aspect: str, where: Path) -> "ImageProcessor":
        """Build from a preprocessor_config dict; ModelLayoutError names a missing/odd ``size``."""
        size = config.get("size")
        if isinstance(size, dict) and "height" in size and "width" in size:
            height, width = int(size["height"]), int(size["width"])
        elif isinstance(size, dict) and "shortest_edge" in size:
            height = width = int(size["shortest_edge"])
        elif isinstance(size, int):
            height = width = size
        else:
            raise ModelLayoutError(f"{where}: field 'size' is missing or not understood ({size!r})")
        do_rescale = config.get("do_rescale", True)
        do_normalize = config.get("do_normalize", True)
        mean = tuple(config.get("image_mean", (0.5, 0.5, 0.5))) if do_normalize else (0.0, 0.0, 0.0)
        std = tuple(config.get("image_std", (0.5, 0.5, 0.5))) if do_normalize else (1.0, 1.0, 1.0)
        return cls(
            height=height,
            width=width,
            resample=int(config.get("resample", Image.Resampling.BICUBIC)),
            rescale=float(config.get("rescale_factor", 1 / 255)) if do_rescale else 1.0,
            mean=mean,  # type: ignore[arg-type]
            std=std,  # type: ignore[arg-type]
            aspect=aspect,
        )

    @property
    def tile(self) -> int:
        """Side of the square the processor produces (the tile size of the tiling modes)."""
        return self.height

    def prepare(self, image: Image.Image) -> Image.Image:
        """RGB, aspect handling and resize to (width, height) with the configured filter."""
        image = image.convert("RGB")
        if self.aspect == "pad" and image.width != image.height:
            side = max(image.width, image.height)
            fill = tuple(int(m * 255) for m in self.mean)
            canvas = Image.new("RGB", (side, side), fill)
            canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
            image = canvas
        if image.size != (self.width, self.height):
            image = image.resize((self.width, self.height), resample=self.resample)
        return image

    def __call__(self, images: Sequence[Image.Image], size: int | None = None) -> torch.Tensor:
        """(N, 3, height, width) float32 tensor for ``images`` (``size`` x ``size`` when given)."""
        this = self if size is None else replace(self, height=size, width=size)
        return self.normalize(np.stack([np.asarray(this.prepare(image)) for image in images]))

    def normalize(self, arrays: np.ndarray) -> torch.Tensor:
        """(N, 3, H, W) float32 tensor from (N, H, W, 3) prepared pixels (uint8, or floats on the same 0-255 scale)."""
        batch = arrays.astype(np.float32) * np.float32(self.rescale)
        batch = (batch - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


class VisionTower(nn.Module):
    """Wraps an HF vision model; ``forward(pixels) -> (N, tokens, hidden)`` selected features."""

    def __init__(self, model: nn.Module, select_layer: int, select_feature: str, name: str, *,
                 has_cls: bool = False) -> None:
        super().__init__()
        self.model = model
        self.has_cls = has_cls
        self.select_layer = select_layer
        self.select_feature = select_feature
        self.name = name

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_tokens(self) -> int:
        """Tokens per image after feature selection."""
        cfg = self.model.config
        return tower_tokens(cfg.image_size, cfg.patch_size, self.select_feature, self.has_cls)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixels, output_hidden_states=True)
        features = out.hidden_states[self.select_layer]
        if self.select_feature == "patch":
            features = features[:, 1:]
        return features


def _load_siglip(folder: Path, dtype: torch.dtype) -> tuple[nn.Module, str]:
    model, info = SiglipVisionModel.from_pretrained(
        folder, dtype=dtype, output_loading_info=True, local_files_only=True
    )
    require_all_weights(info, folder)
    cfg = model.config
    return model, f"siglip-{cfg.image_size}px-p{cfg.patch_size}-{cfg.num_hidden_layers}l-{cfg.hidden_size}"


# The reference's hard-coded InternViT processor (torchvision Resize BICUBIC + ImageNet normalisation).
IMAGENET = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
            "rescale_factor": 1 / 255}


@dataclass(frozen=True)
class TowerKind:
    """How to load one ``model_type`` of tower and where its preprocessing comes from.

    ``fixed_processor`` None: read ``preprocessor_config.json``; else these fields
    (plus ``size`` = the tower's ``image_size``) replace it.
    """

    load: Callable[[Path, torch.dtype], tuple[nn.Module, str]]
    fixed_processor: dict[str, Any] | None = None
    has_cls: bool = False

    def processor(self, vision_config: dict[str, Any], preprocessor: dict[str, Any] | None, aspect: str,
                  where: Path) -> ImageProcessor:
        """The image processor; ModelLayoutError when a needed preprocessor file or field is missing."""
        if self.fixed_processor is not None:
            size = int(vision_config.get("image_size", 0))
            return ImageProcessor.from_config({**self.fixed_processor, "size": size}, aspect, where)
        if preprocessor is None:
            raise ModelLayoutError(f"{where} is missing")
        return ImageProcessor.from_config(preprocessor, aspect, where)


def _load_intern_vit(folder: Path, dtype: torch.dtype) -> tuple[nn.Module, str]:
    from workers.runtime.intern_vit import load_intern_vit

    return load_intern_vit(folder, dtype)


TOWERS: dict[str, TowerKind] = {
    "siglip_vision_model": TowerKind(_load_siglip),
    "intern_vit_6b": TowerKind(_load_intern_vit, fixed_processor=IMAGENET, has_cls=True),
}


def tower_kind(config: dict[str, Any], where: Path) -> TowerKind:
    """The registered kind for the vision config's ``model_type``; ModelLayoutError naming it otherwise."""
    model_type = config.get("model_type")
    kind = TOWERS.get(str(model_type))
    if kind is None:
        raise ModelLayoutError(f"{where}: field 'model_type' is {model_type!r}; supported: {', '.join(TOWERS)}")
    return kind


def load_vision_tower(
    folder: Path, config: dict[str, Any], select_layer: int, select_feature: str, dtype: torch.dtype
) -> VisionTower:
    """Load the tower in ``folder``; ModelLayoutError for an unsupported ``model_type`` or a bad select layer."""
    where = folder / "config.json"
    kind = tower_kind(config, where)
    layers = int(config.get("num_hidden_layers", 0))
    if not -(layers + 1) <= select_layer <= layers:
        raise ModelLayoutError(f"mm_vision_select_layer {select_layer} is out of range for {layers} layers in {where}")
    try:
        model, name = kind.load(folder, dtype)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLayoutError(f"{folder / 'model.safetensors'} could not be loaded: {exc}") from None
    return VisionTower(model.eval(), select_layer, select_feature, name, has_cls=kind.has_cls)
