"""The ``tensorrt`` vision backend: a clear error where TensorRT or a GPU is missing, the real engine where not."""
from __future__ import annotations

import importlib.util

import pytest
import torch

from core.errors import BackendUnavailable
from tests.support.model_fixtures import scene_frames
from workers.export import build_tensorrt_engine, require_tensorrt, use_vision_backend
from workers.runtime import load_model

HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None and torch.cuda.is_available()


@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT and a GPU are present")
def test_missing_tensorrt_fails_with_a_clear_message(tiny_model_dir, tmp_path):
    expected = "tensorrt Python package" if importlib.util.find_spec("tensorrt") is None else "needs a CUDA GPU"
    with pytest.raises(BackendUnavailable, match=expected) as info:
        require_tensorrt()
    message = str(info.value)
    assert message.startswith("vision backend 'tensorrt' needs") and "\n" not in message
    assert info.value.reason == "backend-unavailable" and info.value.exit_code == 4
    model = load_model(tiny_model_dir)
    with pytest.raises(BackendUnavailable, match=expected):
        use_vision_backend(model, "tensorrt", cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # checked before exporting anything
    with pytest.raises(BackendUnavailable, match=expected):
        build_tensorrt_engine(tmp_path / "vision.onnx", tmp_path / "vision.plan", image_size=(64, 64))


@pytest.mark.skipif(not HAVE_TENSORRT, reason="needs the tensorrt package and a CUDA GPU")
def test_tensorrt_backend_matches_torch_on_gpu(tiny_model_dir, tmp_path):
    clips = [scene_frames(4, seed=s) for s in range(6)]
    reference = load_model(tiny_model_dir, device="cuda", dtype="float32")
    model = use_vision_backend(load_model(tiny_model_dir, device="cuda", dtype="float32"), "tensorrt",
                               cache_dir=tmp_path, max_batch=16)
    assert any(p.suffix == ".plan" for p in tmp_path.iterdir())
    pixels = torch.rand(5, 3, 64, 64, device="cuda") * 2 - 1
    with torch.no_grad():
        expected = reference.projector(reference.tower(pixels))
        got = model.tower(pixels)
    error = (got - expected).abs().max().item()
    print(f"\nTensorRT vs PyTorch (float32): max abs error {error:.3g}")
    assert error < 1e-2  # TF32 tensor cores
    assert all(model.caption(clips, max_new_tokens=8))
