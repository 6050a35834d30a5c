"""Model fixtures: a tiny random VILA checkpoint built once per session, and frame helpers.

``tiny_model_dir`` goes through ``make_tiny`` (the real layout), ``tiny_model``
through ``load_model`` (the real loader), so tests exercise the same code as a
released checkpoint. ``scene_frames`` (``services.demo.scenes``, shared with the
benchmarks) draws camera-like frames: a coloured square moving across a background.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from safetensors import safe_open

from services.demo.scenes import scene_frames
from workers.runtime import VilaModel, load_model, make_tiny

__all__ = ["assert_builds_agree", "scene_frames", "jpeg_bytes", "safetensors_keys", "tiny_model_dir", "tiny_model"]


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    """``image`` encoded as JPEG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def safetensors_keys(path: Path) -> set[str]:
    """The tensor names stored in the ``.safetensors`` file at ``path`` (no tensor is read)."""
    with safe_open(str(path), "pt") as f:
        return set(f.keys())


def assert_builds_agree(tmp_path: Path, *likes: str) -> None:
    """Two builds (seed 0) of each ``make_tiny(like=...)`` hold the same files, with the same weight and
    tokenizer-model bytes; AssertionError naming the like and the file otherwise."""
    for name in likes:
        a, b = make_tiny(tmp_path / f"{name}-a", like=name), make_tiny(tmp_path / f"{name}-b", like=name, seed=0)
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()), name
        for rel in files:
            if rel.suffix in (".safetensors", ".model"):
                assert (a / rel).read_bytes() == (b / rel).read_bytes(), (name, rel)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random checkpoint (seed 0) in the released layout."""
    return make_tiny(tmp_path_factory.mktemp("models") / "tiny-random", seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> VilaModel:
    """The tiny checkpoint loaded once on CPU (float32). Tests must not mutate it."""
    return load_model(tiny_model_dir)
