"""The embedded default model.

The default is the project's trained tiny model, ``tiny-synthetic-v1``, shipped
inside the package (``workers/models/tiny-synthetic-v1``, trained by
``vila-stream train --recipe tiny-synthetic``; see docs/training.md). Where it
is absent (a checkout without it), the default falls back to the tiny random
checkpoint built with seed 0 into ``<home>/models/tiny-random-v1`` (home: the
``home`` argument, else ``core.settings.cache_root()``: ``$VILA_STREAM_HOME``, else
``~/.cache/vila-stream``).
That one is built on first use into a temporary sibling directory and renamed
into place, so a concurrent or interrupted build never leaves a half-written model.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from core.settings import cache_root
from workers.runtime.tiny import make_tiny

SHIPPED_NAME = "tiny-synthetic-v1"
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / SHIPPED_NAME
DEFAULT_NAME = "tiny-random-v1"  # the random fallback's directory name


def model_home(home: str | Path | None = None) -> Path:
    """The cache root (see the module docstring)."""
    return Path(home).expanduser() if home is not None else cache_root()


def default_model_path(home: str | Path | None = None) -> Path:
    """The shipped trained model when present, else :func:`random_model_path` (``home`` only matters then)."""
    if (SHIPPED_MODEL / "config.json").is_file():
        return SHIPPED_MODEL
    return random_model_path(home)


def random_model_path(home: str | Path | None = None) -> Path:
    """Path of the tiny random model, building it first if absent. OSError if the cache is not writable."""
    target = model_home(home) / "models" / DEFAULT_NAME
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_NAME}-", dir=target.parent))
    try:
        make_tiny(staging, seed=0)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process won the race (target now exists) or a stale empty dir is in the way.
            if not (target / "config.json").is_file():
                if target.is_dir() and not any(target.iterdir()):
                    target.rmdir()
                    os.rename(staging, target)
                else:
                    raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
