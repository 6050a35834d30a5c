"""``vila-stream model export``: what the user sees, on the tiny checkpoint."""
from __future__ import annotations

import pytest
import torch

from tests.services.cli.conftest import assert_clean_error

TOLERANCE = 1e-3  # the command's default

pytestmark = pytest.mark.slow


def test_export_prints_its_result_once_and_no_loading_bars(cli, tmp_path, tiny_model_dir):
    out = tmp_path / "vision.onnx"
    run = cli("model", "export", tiny_model_dir, "--onnx", out)
    assert run.returncode == 0, run.stderr
    assert "Loading" not in run.stderr and "\r" not in run.stderr and "it/s" not in run.stderr, run.stderr
    assert run.stdout.count("max abs error") == 1, run.stdout
    line = next(l for l in run.stdout.splitlines() if l.startswith("max abs error: "))  # docs/export.md's line
    assert float(line.split(": ")[1]) < TOLERANCE
    assert out.is_file()


def test_a_failing_export_prints_its_error_once(cli, tmp_path, tiny_model_dir):
    run = cli("model", "export", tiny_model_dir, "--onnx", tmp_path / "vision.onnx", "--tolerance", "1e-12")
    line = assert_clean_error(run, 4, "max abs error", "tolerance")
    assert (run.stdout + run.stderr).count("max abs error") == 1, run.stdout + run.stderr
    assert "Loading" not in run.stderr, run.stderr
    assert line.startswith("vila-stream: error: ")


@pytest.mark.skipif(torch.cuda.is_available(), reason="TensorRT may be usable here")
def test_export_tensorrt_fails_clearly_without_it(cli, tmp_path, tiny_model_dir):
    out = tmp_path / "vision.onnx"
    run = cli("model", "export", tiny_model_dir, "--onnx", out, "--tensorrt", tmp_path / "vision.plan")
    assert_clean_error(run, 4, "tensorrt")
    assert not out.exists()  # refused before any work
