"""Where the local cluster keeps what it downloads and what it runs.

The cache root is ``core.settings.cache_root()``: ``$VILA_STREAM_HOME`` or ``~/.cache/vila-stream`` (the same
root as the embedded model and the Makefile): Kafka's jars in ``kafka-<version>/libs``, the local cluster's logs,
pids and data in ``cluster/``.
"""
from __future__ import annotations

from pathlib import Path

from core.settings import cache_root


def kafka_home(version: str) -> Path:
    """The folder whose ``libs/`` holds Kafka ``version``'s jars (``make install`` fills it)."""
    return cache_root() / f"kafka-{version}"


def default_run_dir() -> Path:
    """The run directory of ``vila-stream cluster``: one log, pid file and data folder per component."""
    return cache_root() / "cluster"
