"""The embedded default model.

Until the project's trained model lands, the default is the tiny random
checkpoint built with seed 0 into ``<home>/models/tiny-random-v1``, where home is
the ``home`` argument, else ``$VILA_STREAM_HOME``, else ``~/.cache/vila-stream``.
It is built on first use into a temporary sibling directory and renamed into
place, so a concurrent or interrupted build never leaves a half-written model.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from workers.runtime.tiny import make_tiny

DEFAULT_NAME = "tiny-random-v1"


def model_home(home: str | Path | None = None) -> Path:
    """The cache root (see the module docstring)."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("VILA_STREAM_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vila-stream"


def default_model_path(home: str | Path | None = None) -> Path:
    """Path of the default model directory, building it first if absent. OSError if the cache is not writable."""
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
