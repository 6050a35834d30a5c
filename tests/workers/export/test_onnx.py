"""Vision tower + projector to ONNX, checked with onnxruntime; the ``onnx`` vision backend; the export CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from core.errors import InvalidInput
from tests.support.model_fixtures import scene_frames
from workers.export import check_vision_onnx, export_vision_onnx, use_vision_backend
from workers.export.backends import EngineTower, engine_dir
from workers.export.onnx import OnnxVisionEncoder
from workers.runtime import load_model, make_tiny
from workers.tiers import TIERS

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    return export_vision_onnx(tiny_model, tmp_path_factory.mktemp("onnx") / "vision.onnx")


@pytest.fixture(scope="module")
def clips():
    return [scene_frames(3 + s % 3, seed=s) for s in range(8)]


def test_onnx_export_matches_pytorch(tiny_model, exported):
    onnx.checker.check_model(str(exported))
    graph = onnx.load(str(exported)).graph
    assert [i.name for i in graph.input] == ["pixels"] and [o.name for o in graph.output] == ["features"]
    check = check_vision_onnx(tiny_model, exported, batch=5)
    print(f"\nONNX vs PyTorch, vision tower + projector: max abs error {check.max_abs_error:.3g} "
          f"(outputs up to {check.max_abs_value:.3g})")
    tokens = tiny_model.projector.num_tokens(tiny_model.tower.num_tokens)
    assert check.output_shape == (5, tokens, tiny_model.llm.config.hidden_size)  # batch is dynamic (exported at 2)
    assert check.max_abs_error < TOLERANCE
    assert check.max_abs_value > 100 * TOLERANCE  # the comparison is not between two near-zero tensors


@pytest.mark.parametrize("like", ["vila1.5-3b", "vila1.5-40b", "nvila-lite-2b"])
def test_onnx_export_matches_pytorch_for_released_families(like, tmp_path):
    # SigLIP with its head + 2x2 merge (VILA1.5-3b), InternViT (40b), SigLIP 3x3 merge of one tile (NVILA-Lite).
    model = load_model(make_tiny(tmp_path / like, like=like))
    check = check_vision_onnx(model, export_vision_onnx(model, tmp_path / "vision.onnx"), batch=3)
    print(f"\n{like}: ONNX vs PyTorch, vision tower + projector: max abs error {check.max_abs_error:.3g} "
          f"(outputs up to {check.max_abs_value:.3g})")
    tokens = model.projector.num_tokens(model.tower.num_tokens)
    assert check.output_shape == (3, tokens, model.llm.config.hidden_size)
    assert check.max_abs_error < TOLERANCE
    assert check.max_abs_value > 100 * TOLERANCE


def test_onnx_backend_captions_equal_the_torch_backend(tiny_model, tiny_model_dir, clips, tmp_path):
    model = use_vision_backend(load_model(tiny_model_dir), "onnx", cache_dir=tmp_path)
    assert isinstance(model.tower, EngineTower) and isinstance(model.tower.engine, OnnxVisionEncoder)
    assert (tmp_path / "vision.onnx").is_file()
    assert model.caption(clips, max_new_tokens=16) == tiny_model.caption(clips, max_new_tokens=16)
    labels = ["a person walking", "nothing moving"]
    for ours, theirs in zip(model.score_labels(clips, labels), tiny_model.score_labels(clips, labels)):
        assert [s.label for s in ours] == [s.label for s in theirs]
        assert all(abs(a.score - b.score) < 1e-4 for a, b in zip(ours, theirs))


def test_onnx_backend_really_runs_the_graph(tiny_model, tiny_model_dir, clips, tmp_path):
    # A graph exported from other weights must change the answers: the engine, not the torch tower, computes them.
    other = load_model(make_tiny(tmp_path / "other", seed=7))
    export_vision_onnx(other, tmp_path / "cache" / "vision.onnx")
    model = use_vision_backend(load_model(tiny_model_dir), "onnx", cache_dir=tmp_path / "cache")
    assert model.caption(clips, max_new_tokens=16) != tiny_model.caption(clips, max_new_tokens=16)


def test_backend_choices_are_validated(tiny_model_dir):
    model = load_model(tiny_model_dir)
    assert use_vision_backend(model, "torch") is model and not isinstance(model.tower, EngineTower)
    with pytest.raises(InvalidInput, match="unknown vision backend 'openvino'.*torch, onnx, tensorrt"):
        use_vision_backend(model, "openvino")
    with pytest.raises(InvalidInput, match="vision_backend 'cuda-graph'"):
        replace(TIERS["cloud"], vision_backend="cuda-graph")
    assert TIERS["edge"].vision_backend == "torch" and TIERS["cloud"].vision_backend == "torch"


def test_engine_key_follows_the_weights_of_a_flat_checkpoint(tmp_path, monkeypatch):
    # The flat -hf layout has no vision_tower/ or mm_projector/ folder: the top-level weights must key the cache.
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("VILA_STREAM_HOME", str(tmp_path / "home"))
    path = make_tiny(tmp_path / "flat", like="nvila-lite-2b-hf")
    model = load_model(path)
    before = engine_dir(model)
    assert engine_dir(model) == before
    weights = path / "model.safetensors"
    state = load_file(weights)
    state["mm_projector.layers.1.weight"] += 1.0
    mtime = weights.stat().st_mtime_ns
    save_file(state, weights, metadata={"format": "pt"})
    os.utime(weights, ns=(mtime + 10**9, mtime + 10**9))  # a coarse clock could give the rewrite the same mtime
    assert engine_dir(model) != before


def test_s2_models_are_refused(tmp_path):
    try:
        path = make_tiny(tmp_path / "s2", like="vila1.5-3b-s2")
    except Exception as exc:  # the family catalogue is another module's; without it there is nothing to refuse
        pytest.skip(f"no S2 tiny checkpoint: {exc}")
    model = load_model(path)
    with pytest.raises(InvalidInput, match="single-scale"):
        use_vision_backend(model, "onnx", cache_dir=tmp_path / "cache")


def _cli(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "VILA_STREAM_HOME": str(home)})


@pytest.mark.slow
def test_cli_export_prints_the_max_abs_error(tiny_model_dir, tmp_path):
    out = tmp_path / "out" / "vision.onnx"
    out.parent.mkdir()  # export refuses a folder that does not exist (tests/services/cli/test_outputs.py)
    run = _cli("model", "export", tiny_model_dir, "--onnx", out, home=tmp_path)
    assert run.returncode == 0, run.stderr
    line = next(l for l in run.stdout.splitlines() if l.startswith("max abs error: "))
    print(f"\n{line}")
    assert float(line.split(": ")[1]) < TOLERANCE
    assert out.is_file() and "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="TensorRT may be usable here")
def test_cli_export_tensorrt_fails_clearly_without_it(tiny_model_dir, tmp_path):
    out = tmp_path / "vision.onnx"
    run = _cli("model", "export", tiny_model_dir, "--onnx", out, "--tensorrt", tmp_path / "vision.plan", home=tmp_path)
    errors = [l for l in run.stderr.splitlines() if l.startswith("vila-stream: ")]
    assert run.returncode == 4 and len(errors) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "tensorrt" in errors[0].lower()
    assert not out.exists()  # refused before any work
