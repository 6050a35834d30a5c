"""Export of the vision side (vision tower + projector) and the engines that run it.

``export_vision_onnx`` writes the ONNX graph and checks it against PyTorch with
onnxruntime; ``build_tensorrt_engine`` turns that ONNX into a TensorRT plan
where TensorRT and a GPU are present; ``use_vision_backend`` makes a loaded
model run its vision side through one of them (``VISION_BACKENDS``).
"""
from workers.export.backends import VISION_BACKENDS, use_vision_backend
from workers.export.onnx import OnnxCheck, VisionEncoder, check_vision_onnx, export_vision_onnx
from workers.export.tensorrt import build_tensorrt_engine, require_tensorrt

__all__ = ["OnnxCheck", "VISION_BACKENDS", "VisionEncoder", "build_tensorrt_engine", "check_vision_onnx",
           "export_vision_onnx", "require_tensorrt", "use_vision_backend"]
