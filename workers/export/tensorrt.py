"""TensorRT: build an engine (plan) from the exported vision ONNX and run it on CUDA tensors.

TensorRT is optional and not a dependency of the project: it needs an NVIDIA
GPU and installs CUDA libraries of its own (``pip install tensorrt``). Every
entry point first calls :func:`require_tensorrt`, which raises
``BackendUnavailable`` with a one-line reason when the package or a GPU is
missing, so the option fails clearly instead of deep inside an import.

The engine is built from the float32 ONNX graph with an optimisation profile
over the batch dimension (1 .. ``max_batch``, tuned for ``opt_batch``). TensorRT
11 networks are strongly typed (the graph's own types decide precision; the
fp16/bf16 builder flags are gone), so this engine computes in float32, with
TF32 tensor cores where TensorRT allows them.

Uses the name-based I/O tensor API (TensorRT 10 and 11): ``set_input_shape``,
``set_tensor_address``, ``execute_async_v3`` on PyTorch's current CUDA stream.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import BackendUnavailable, InvalidInput, ModelError
from workers.export.onnx import INPUT, OUTPUT

WORKSPACE_BYTES = 4 << 30


def require_tensorrt() -> Any:
    """The ``tensorrt`` module; BackendUnavailable saying what is missing (package or CUDA GPU)."""
    try:
        import tensorrt
    except ImportError:
        raise BackendUnavailable("vision backend 'tensorrt' needs the tensorrt Python package, which is not installed "
                                 "(pip install tensorrt, on a machine with an NVIDIA GPU); use 'onnx' or 'torch'") from None
    if not torch.cuda.is_available():
        raise BackendUnavailable("vision backend 'tensorrt' needs a CUDA GPU and none is available; "
                                 "use 'onnx' or 'torch'")
    return tensorrt


def build_tensorrt_engine(onnx_path: str | Path, plan_path: str | Path, *, image_size: tuple[int, int],
                          max_batch: int = 64, opt_batch: int = 8) -> Path:
    """Build a serialized engine from ``onnx_path`` into ``plan_path``; returns ``plan_path``.

    ``image_size`` is (height, width) of the ``pixels`` input. ModelError when
    TensorRT cannot parse the graph or build the engine (its messages included).
    """
    trt = require_tensorrt()
    onnx_path, plan_path = Path(onnx_path).expanduser(), Path(plan_path).expanduser()
    if not onnx_path.is_file():
        raise InvalidInput(f"ONNX file {onnx_path} does not exist")
    if not 1 <= opt_batch <= max_batch:
        raise InvalidInput(f"TensorRT batch sizes must satisfy 1 <= opt ({opt_batch}) <= max ({max_batch})")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    height, width = image_size
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT, (1, 3, height, width), (opt_batch, 3, height, width), (max_batch, 3, height, width))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ModelError(f"TensorRT could not build an engine from {onnx_path} (see its log above)")
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_bytes(bytes(plan))
    return plan_path


class TensorRTVisionEncoder(nn.Module):
    """Runs a vision plan on CUDA; ``forward(pixels)`` matches the PyTorch tower + projector.

    Pixels are cast to float32 on the engine's GPU; the output comes back in the
    input's dtype. Batches above the plan's maximum are split.
    """

    def __init__(self, plan_path: str | Path, device: str | torch.device = "cuda") -> None:
        super().__init__()
        trt = require_tensorrt()
        plan_path = Path(plan_path).expanduser()
        if not plan_path.is_file():
            raise InvalidInput(f"TensorRT plan {plan_path} does not exist (build it with vila-stream model export)")
        self.device = torch.device(device)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(plan_path.read_bytes())
        if self.engine is None:
            raise InvalidInput(f"{plan_path} is not a TensorRT plan for this TensorRT version and GPU")
        self.context = self.engine.create_execution_context()
        self.max_batch = int(self.engine.get_tensor_profile_shape(INPUT, 0)[2][0])

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        chunks = [self._run(part) for part in torch.split(pixels, self.max_batch)]
        return torch.cat(chunks, dim=0).to(pixels.device, pixels.dtype)

    def _run(self, pixels: torch.Tensor) -> torch.Tensor:
        source = pixels.to(self.device, torch.float32).contiguous()
        self.context.set_input_shape(INPUT, tuple(source.shape))
        shape = tuple(self.context.get_tensor_shape(OUTPUT))
        out = torch.empty(shape, dtype=torch.float32, device=self.device)
        self.context.set_tensor_address(INPUT, source.data_ptr())
        self.context.set_tensor_address(OUTPUT, out.data_ptr())
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise ModelError("TensorRT failed to run the vision engine")
        stream.synchronize()
        return out
