"""``vila-stream model make-tiny``: the released layout, deterministic from the seed."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_make_tiny_writes_the_released_layout_deterministically(cli, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        run = cli("model", "make-tiny", out, "--seed", str(seed))
        assert run.returncode == 0, run.stderr
        assert str(out) in run.stdout
    config = json.loads((a / "config.json").read_text())
    assert config["model_type"] == "llava_llama" and config["architectures"] == ["LlavaLlamaModel"]
    for sub in ("llm", "vision_tower", "mm_projector"):
        assert (a / sub / "config.json").is_file() and (a / sub / "model.safetensors").is_file()
    weights = [p.relative_to(a) for p in sorted(a.rglob("*.safetensors"))]
    assert all((a / w).read_bytes() == (b / w).read_bytes() for w in weights)
    assert any((a / w).read_bytes() != (c / w).read_bytes() for w in weights)
