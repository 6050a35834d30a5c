"""The vision tower + projector as one ONNX graph, checked against PyTorch with onnxruntime.

The graph maps ``pixels`` (N, 3, H, W) float32, normalised as the model's
image processor does, to ``features`` (N, visual tokens, LLM hidden) float32:
what the LLM receives per frame before the newline embedding is appended. The
batch dimension is dynamic. It is exported with PyTorch's ``torch.export``
based exporter (``dynamo=True``, the default of torch 2.9+; it needs
``onnxscript``), in float32 whatever the model's dtype, because onnxruntime's
CPU kernels are float32 and TensorRT 11 builds strongly typed engines from the
graph's own types.

Only single-scale vision sides export: a tower whose features go straight into
the projector (VILA1.5 384 px, NVILA-Lite). Multi-scale S2 and tiling happen
around the tower in Python and are not part of the graph.

Failure modes: ``BackendUnavailable`` when onnx/onnxruntime/onnxscript are not
installed; ``ModelError`` when the exporter fails; ``InvalidInput`` for a
missing or unreadable ONNX file.
"""
from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from core.errors import BackendUnavailable, InvalidInput, ModelError
from workers.runtime import VilaModel

INPUT, OUTPUT = "pixels", "features"
OPSET = 18
EXPORT_BATCH = 2  # a batch of 1 would let torch.export specialise the batch dimension to 1
EXTERNAL_DATA_BYTES = 1 << 30  # protobuf caps a single file at 2 GiB; big towers keep weights beside the graph


class VisionEncoder(nn.Module):
    """pixels (N, 3, H, W) -> projected features (N, tokens, hidden): the vision tower, then the projector."""

    def __init__(self, tower: nn.Module, projector: nn.Module) -> None:
        super().__init__()
        self.tower = tower
        self.projector = projector

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.projector(self.tower(pixels))


def vision_encoder(model: VilaModel) -> VisionEncoder:
    """``model``'s tower + projector in float32 on CPU (shared when already so, else a copy)."""
    if model.device.type == "cpu" and model.dtype == torch.float32:
        return VisionEncoder(model.tower, model.projector).eval()
    import copy

    tower = copy.deepcopy(model.tower).to("cpu", torch.float32)
    projector = copy.deepcopy(model.projector).to("cpu", torch.float32)
    return VisionEncoder(tower, projector).eval()


def image_size(model: VilaModel) -> tuple[int, int]:
    """(height, width) of the pixels the tower takes."""
    processor = model.processor
    if hasattr(processor, "height") and hasattr(processor, "width"):
        return int(processor.height), int(processor.width)
    size = int(model.tower.model.config.image_size)
    return size, size


def example_pixels(model: VilaModel, batch: int, seed: int = 0) -> torch.Tensor:
    """Deterministic pixels in the normalised range [-1, 1] at the tower's input size."""
    height, width = image_size(model)
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((batch, 3, height, width), generator=generator) * 2 - 1


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    # The exporter logs one warning per missing optional op library (torchvision) and
    # emits deprecation noise from torch internals; neither concerns this graph.
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def require_module(module: str, why: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise BackendUnavailable(f"{why} needs the {module!r} package (see pyproject.toml): {exc}") from None


def export_vision_onnx(model: VilaModel, out: str | Path, *, opset: int = OPSET) -> Path:
    """Write ``model``'s tower + projector to ``out`` (ONNX, dynamic batch) and return the path."""
    require_module("onnxscript", "ONNX export")
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder = vision_encoder(model)
    pixels = example_pixels(model, EXPORT_BATCH)
    try:
        with torch.no_grad():
            encoder(pixels)
    except RuntimeError as exc:
        raise ModelError(f"the vision tower's output does not feed the projector directly ({exc}); "
                         "only single-scale vision sides can be exported") from None
    weight_bytes = sum(p.numel() * p.element_size() for p in encoder.parameters())
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        with _quiet_exporter(), contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(
                encoder, (pixels,), str(out), input_names=[INPUT], output_names=[OUTPUT],
                dynamic_shapes={"pixels": {0: batch}}, opset_version=opset, dynamo=True,
                external_data=weight_bytes > EXTERNAL_DATA_BYTES, verbose=False,
            )
    except Exception as exc:  # the exporter raises many types; all mean "this graph did not export"
        raise ModelError(f"ONNX export of the vision tower + projector failed: {type(exc).__name__}: {exc}") from None
    return out


class OnnxVisionEncoder(nn.Module):
    """Runs an exported vision graph with onnxruntime; ``forward`` matches :class:`VisionEncoder`'s.

    Output comes back on the input's device and dtype, so it drops into the torch path.
    """

    def __init__(self, path: str | Path, providers: list[str] | None = None, threads: int | None = None) -> None:
        super().__init__()
        ort = require_module("onnxruntime", "the 'onnx' vision backend")
        path = Path(path).expanduser()
        if not path.is_file():
            raise InvalidInput(f"ONNX file {path} does not exist")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise InvalidInput(f"{path} is not a loadable ONNX graph: {exc}") from None
        names = [i.name for i in self.session.get_inputs()]
        if names != [INPUT]:
            raise InvalidInput(f"{path} takes inputs {names}, expected [{INPUT!r}] (export it with vila-stream)")
        self.path = path

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        array = pixels.detach().to("cpu", torch.float32).contiguous().numpy()
        (features,) = self.session.run([OUTPUT], {INPUT: array})
        return torch.from_numpy(features).to(pixels.device, pixels.dtype)


@dataclass(frozen=True)
class OnnxCheck:
    """How far the ONNX graph's output is from PyTorch's on the same pixels."""

    max_abs_error: float
    max_abs_value: float
    batch: int
    output_shape: tuple[int, ...]

    def __str__(self) -> str:
        return (f"max abs error {self.max_abs_error:.3g} (outputs up to {self.max_abs_value:.3g}) over a batch of "
                f"{self.batch}, output {tuple(self.output_shape)}")


def check_vision_onnx(model: VilaModel, path: str | Path, *, batch: int = 3, seed: int = 1) -> OnnxCheck:
    """Run the graph at ``path`` and ``model``'s tower + projector (float32, CPU) on the same pixels.

    ``batch`` differs from the export batch so that the dynamic batch axis is exercised.
    """
    engine = OnnxVisionEncoder(path)
    encoder = vision_encoder(model)
    pixels = example_pixels(model, batch, seed)
    with torch.no_grad():
        expected = encoder(pixels)
    got = engine(pixels)
    if got.shape != expected.shape:
        raise ModelError(f"{path} gives features of shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}")
    error = (got - expected).abs().max().item()
    if not math.isfinite(error):
        raise ModelError(f"{path} gives non-finite features")
    return OnnxCheck(max_abs_error=error, max_abs_value=expected.abs().max().item(), batch=batch,
                     output_shape=tuple(got.shape))
