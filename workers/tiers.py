"""Tier profiles: how much model work one window gets on a kind of worker.

``edge`` is sized for a CPU box (4 frames, 32 new tokens, float32 on CPU,
LLM quantised to int8 with ``"int8-dynamic-token"``); ``cloud`` for a GPU (8
frames, 64 new tokens, bfloat16 on CUDA when one is available, else float32 on
CPU, no quantisation). ``get_tier(name)`` returns the profile with
``device``/``dtype`` resolved for this machine; ``load_for_tier(path, tier)``
loads a checkpoint the way the tier says (device, dtype, weight quantisation,
vision backend).

Why ``int8-dynamic-token`` on the edge and not PyTorch's faster-decoding
``int8-dynamic``: the latter has one activation scale per batch tensor, so a
window's caption depends on its batch-mates (measured), which breaks the
batching contract; the per-token mode keeps a batch answering like its windows
one by one. ``quantization="none"`` (the worker's ``--quantization none``)
restores full precision; see docs/quantization.md.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from core.errors import InvalidInput
from core.windowing import FRAMES_PER_WINDOW
from workers.export.backends import VISION_BACKENDS
from workers.runtime.quantize import MODES as QUANTIZATIONS

if TYPE_CHECKING:
    from workers.runtime import VilaModel

AUTO = "auto"


@dataclass(frozen=True)
class TierProfile:
    """One tier.

    frames_per_window: frames sampled from each window (>= 1); ``fitted`` lowers it to what a checkpoint was
        trained on, unless ``frames_set`` (the operator chose it).
    max_new_tokens: caption length limit in tokens (>= 1).
    dtype / device: torch names ("float32", "bfloat16", "cpu", "cuda"), or "auto".
    max_batch_size: windows per model call (>= 1).
    max_wait_ms: how long a batcher may hold a window to fill a batch (>= 0).
    quantization: LLM weight quantisation, one of ``QUANTIZATIONS`` ("none"; "int8-dynamic"
        on CPU; "int8-dynamic-token", "int8" and "int4" through torchao, int4 on CUDA only).
    vision_backend: what runs the vision tower + projector, one of ``VISION_BACKENDS``
        ("torch", "onnx" through onnxruntime, "tensorrt" on a GPU with TensorRT installed).
    """

    name: str
    frames_per_window: int
    max_new_tokens: int
    dtype: str
    device: str
    max_batch_size: int
    max_wait_ms: int
    quantization: str = "none"
    vision_backend: str = "torch"
    frames_set: bool = False

    def __post_init__(self) -> None:
        if self.frames_per_window < 1 or self.max_new_tokens < 1 or self.max_batch_size < 1 or self.max_wait_ms < 0:
            raise InvalidInput(f"tier {self.name!r}: frames, tokens and batch size must be >= 1, wait >= 0")
        if self.quantization not in QUANTIZATIONS:
            raise InvalidInput(f"tier {self.name!r}: quantization {self.quantization!r} is not one of "
                               f"{', '.join(QUANTIZATIONS)}")
        if self.vision_backend not in VISION_BACKENDS:
            raise InvalidInput(f"tier {self.name!r}: vision_backend {self.vision_backend!r} is not one of "
                               f"{', '.join(VISION_BACKENDS)}")

    def resolved(self, cuda_available: bool | None = None) -> "TierProfile":
        """This profile with "auto" device/dtype replaced: CUDA + bfloat16 if available, else CPU + float32."""
        cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
        device = self.device if self.device != AUTO else ("cuda" if cuda else "cpu")
        dtype = self.dtype
        if dtype == AUTO:
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        return replace(self, device=device, dtype=dtype)

    def fitted(self, video_frames: int) -> "TierProfile":
        """This profile for a checkpoint trained on ``video_frames`` frames per video (``ModelInfo.video_frames``).

        A model shown more frames than it was trained on answers worse (the embedded model, trained on 4, got 4 of
        9 single-object clips all right at 8 frames, 9 of 9 at 4), so the tier's frames are a ceiling, not a demand.
        A count the operator set (``frames_set``) is kept as it is.
        """
        if self.frames_set or self.frames_per_window <= video_frames:
            return self
        return replace(self, frames_per_window=video_frames)


#: The profiles, one per name of ``core.tiers.TIER_NAMES``, in that order.
TIERS: dict[str, TierProfile] = {
    "edge": TierProfile("edge", frames_per_window=FRAMES_PER_WINDOW, max_new_tokens=32, dtype="float32", device="cpu",
                        max_batch_size=4, max_wait_ms=50, quantization="int8-dynamic-token"),
    "cloud": TierProfile("cloud", frames_per_window=8, max_new_tokens=64, dtype=AUTO, device=AUTO,
                         max_batch_size=16, max_wait_ms=100),
}


def get_tier(name: str, *, cuda_available: bool | None = None) -> TierProfile:
    """The named tier, resolved for this machine; InvalidInput listing the valid names otherwise."""
    try:
        tier = TIERS[name]
    except KeyError:
        raise InvalidInput(f"unknown tier {name!r}; valid tiers: {', '.join(sorted(TIERS))}") from None
    return tier.resolved(cuda_available)


def load_for_tier(path: str | Path, tier: TierProfile) -> "VilaModel":
    """Load the checkpoint at ``path`` on the tier's device and dtype, quantise it and set its vision backend.

    Raises what ``load_model``, ``quantize_model`` and ``use_vision_backend`` raise
    (ModelLayoutError, InvalidInput, BackendUnavailable).
    """
    from workers.export.backends import use_vision_backend
    from workers.runtime import load_model
    from workers.runtime.quantize import quantize_model

    tier = tier.resolved()
    model = load_model(path, device=tier.device, dtype=tier.dtype)
    model = quantize_model(model, tier.quantization)
    return use_vision_backend(model, tier.vision_backend)
