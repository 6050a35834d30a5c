"""``use_vision_backend``: run a loaded model's vision tower + projector in PyTorch, onnxruntime or TensorRT.

``torch`` leaves the model as loaded. ``onnx`` and ``tensorrt`` export the
vision side once into a cache directory (``<model home>/engines/<model>-<key>/``,
the key changing when the checkpoint's vision or projector weights change),
build the TensorRT plan from that ONNX when asked, and put an engine in the
tower's place (in the model and in its media encoder); the projector slot then
passes features through. Only single-scale vision sides qualify: S2 models
merge scales between the tower and the projector. Everything
after the projector (newline embeddings, the LLM) is unchanged, so captions
match the torch backend up to the engine's numerical error.

Failure modes: ``InvalidInput`` for an unknown backend; ``BackendUnavailable``
when onnxruntime, TensorRT or a GPU is missing (checked before any export).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from torch import nn

from core.errors import InvalidInput
from workers.export.onnx import OnnxVisionEncoder, check_vision_onnx, export_vision_onnx, image_size, require_module
from workers.export.tensorrt import TensorRTVisionEncoder, build_tensorrt_engine, require_tensorrt
from workers.runtime import VilaModel
from workers.runtime.default import model_home

TORCH, ONNX, TENSORRT = "torch", "onnx", "tensorrt"
VISION_BACKENDS = (TORCH, ONNX, TENSORRT)
LOG = logging.getLogger("workers.export")


def _anchor(like: nn.Module) -> nn.Parameter:
    # The runtime reads a component's device and dtype from its first parameter; an empty one carries them.
    first = next(like.parameters())
    return nn.Parameter(torch.empty(0, device=first.device, dtype=first.dtype), requires_grad=False)


class EngineTower(nn.Module):
    """Stands in for the vision tower: ``engine`` computes tower + projector in one go.

    Keeps the tower's descriptive attributes (``name``, ``num_tokens``, ``hidden_size``).
    """

    def __init__(self, tower: nn.Module, engine: nn.Module, backend: str) -> None:
        super().__init__()
        self.anchor = _anchor(tower)
        self.engine = engine
        self.backend = backend
        self.name = f"{tower.name} ({backend})"
        self.num_tokens = tower.num_tokens
        self.hidden_size = tower.hidden_size

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.engine(pixels)


class ProjectedPassthrough(nn.Module):
    """Stands in for the projector once the engine has applied it: returns its input."""

    def __init__(self, projector: nn.Module) -> None:
        super().__init__()
        self.anchor = _anchor(projector)
        self.type_name = projector.type_name
        self._count = projector.num_tokens

    def num_tokens(self, num_vision_tokens: int) -> int:
        return self._count(num_vision_tokens)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def engine_dir(model: VilaModel) -> Path:
    """The cache directory for ``model``'s exported vision side.

    Its name hashes the checkpoint path and the size and mtime of every file
    holding vision weights (``vision_weight_files``), so new weights get a new
    export instead of a stale engine.
    """
    root = Path(model.info.path)
    key = hashlib.sha256(str(root).encode())
    for weights in vision_weight_files(root):
        stat = weights.stat()
        key.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return model_home() / "engines" / f"{model.info.model_id}-{key.hexdigest()[:12]}"


def vision_weight_files(root: Path) -> list[Path]:
    """The files holding the tower's and projector's weights in the checkpoint at ``root``.

    ``vision_tower/*.safetensors`` and ``mm_projector/*.safetensors``; in the flat
    ``-hf`` layout, which has neither folder, the top-level ``*.safetensors`` and
    ``model.safetensors.index.json`` (every tensor lives there, by prefix).
    """
    parts = [root / part for part in ("vision_tower", "mm_projector") if (root / part).is_dir()]
    if parts:
        return [weights for part in parts for weights in sorted(part.glob("*.safetensors"))]
    index = root / "model.safetensors.index.json"
    return sorted(root.glob("*.safetensors")) + ([index] if index.is_file() else [])


def _onnx_file(model: VilaModel, folder: Path) -> Path:
    path = folder / "vision.onnx"
    if not path.is_file():
        export_vision_onnx(model, path)
        LOG.info("exported the vision side to %s: %s", path, check_vision_onnx(model, path))
    return path


def use_vision_backend(model: VilaModel, backend: str, *, cache_dir: str | Path | None = None,
                       max_batch: int = 64) -> VilaModel:
    """Make ``model`` run its vision side on ``backend`` (see ``VISION_BACKENDS``); returns the model.

    ``cache_dir`` overrides where the ONNX graph and the TensorRT plan are kept.
    ``max_batch`` bounds the frames per TensorRT call (larger batches are split).
    """
    if backend not in VISION_BACKENDS:
        raise InvalidInput(f"unknown vision backend {backend!r}; choose one of {', '.join(VISION_BACKENDS)}")
    if backend == TORCH:
        return model
    if isinstance(model.tower, EngineTower):
        raise InvalidInput(f"the model already runs its vision side on {model.tower.backend!r}")
    settings = getattr(model, "settings", None)
    if getattr(settings, "s2", False) or getattr(settings, "dynamic_s2", False):
        raise InvalidInput(f"vision backend {backend!r} runs single-scale vision sides only; this model merges "
                           "S2 scales between the tower and the projector")
    if backend == TENSORRT:
        require_tensorrt()  # fail on a missing package or GPU before exporting anything
    else:
        require_module("onnxruntime", "the 'onnx' vision backend")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else engine_dir(model)
    onnx_path = _onnx_file(model, folder)
    engine: nn.Module
    if backend == ONNX:
        engine = OnnxVisionEncoder(onnx_path)
    else:
        plan = folder / f"vision-b{max_batch}.plan"
        if not plan.is_file():
            build_tensorrt_engine(onnx_path, plan, image_size=image_size(model), max_batch=max_batch)
        engine = TensorRTVisionEncoder(plan, device=model.device)
    tower, projector = EngineTower(model.tower, engine, backend), ProjectedPassthrough(model.projector)
    model.tower, model.projector = tower, projector
    encoder = getattr(model, "encoder", None)  # the runtime's MediaEncoder holds its own references
    if encoder is not None:
        encoder.tower, encoder.projector = tower, projector
    return model
