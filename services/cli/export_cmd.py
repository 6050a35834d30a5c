"""``vila-stream model export PATH --onnx OUT.onnx [--tensorrt OUT.plan]``: export the vision side.

Writes the vision tower + projector of the checkpoint at PATH as one ONNX graph,
runs it with onnxruntime against PyTorch on the same pixels and prints the
maximum absolute error (above ``--tolerance`` it is the one error line instead); with ``--tensorrt`` it also builds a TensorRT engine
from that graph (needs the ``tensorrt`` package and a CUDA GPU; without them it
fails with a one-line message before exporting anything).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import ModelError

DEFAULT_TOLERANCE = 1e-3


def register(msub: argparse._SubParsersAction) -> None:
    """Add ``export`` to the ``model`` command's sub-parsers."""
    parser = msub.add_parser(
        "export",
        help="export the vision tower + projector to ONNX (and a TensorRT engine)",
        description="Exports the checkpoint's vision tower and projector as one ONNX graph (float32, dynamic batch), "
        "checks it against PyTorch with onnxruntime and prints the maximum absolute error; optionally builds a "
        "TensorRT engine from it (needs tensorrt and a CUDA GPU).",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="checkpoint directory")
    parser.add_argument("--onnx", type=Path, required=True, metavar="OUT.onnx", help="where to write the ONNX graph")
    parser.add_argument("--tensorrt", type=Path, default=None, metavar="OUT.plan",
                        help="also build a TensorRT engine (plan) from the graph")
    parser.add_argument("--max-batch", type=int, default=64, help="largest frame batch of the TensorRT engine")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help=f"fail when the ONNX graph's max abs error exceeds this (default {DEFAULT_TOLERANCE:g})")
    parser.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    from workers.export import build_tensorrt_engine, check_vision_onnx, export_vision_onnx, require_tensorrt
    from workers.export.onnx import image_size
    from workers.runtime import load_model
    from services.cli.console import quiet_model_loading
    from services.cli.outputs import check_output_file

    check_output_file("--onnx", args.onnx)
    if args.tensorrt is not None:
        check_output_file("--tensorrt", args.tensorrt)
        require_tensorrt()
    quiet_model_loading()
    model = load_model(args.path, device="cpu", dtype="float32")
    path = export_vision_onnx(model, args.onnx)
    check = check_vision_onnx(model, path)
    where = (f"against PyTorch on a batch of {check.batch}, output {tuple(check.output_shape)}, "
             f"outputs up to {check.max_abs_value:.3g}")
    if check.max_abs_error > args.tolerance:  # the error line alone: the number said once, where it matters
        raise ModelError(f"the ONNX graph written to {path} is off: max abs error {check.max_abs_error:.3g} "
                         f"exceeds the tolerance {args.tolerance:g} ({where})")
    print(f"wrote {path} (checked {where})")
    print(f"max abs error: {check.max_abs_error:.3g}")
    if args.tensorrt is not None:
        plan = build_tensorrt_engine(path, args.tensorrt, image_size=image_size(model), max_batch=args.max_batch)
        print(f"wrote TensorRT engine {plan}")
    return 0
