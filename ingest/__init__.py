"""Ingest: sources in, windows of sampled JPEG frames out.

Public API (the CLI and the cluster's ingest service build on exactly this):

    IngestConfig   frozen, validated settings (``ingest.config``)
    Progress       position / duration / windows / live, for progress displays
    SourceInfo     what ``probe`` found
    probe(source, config) -> SourceInfo
    iter_windows(source, stream_id, config, *, on_event=None, on_progress=None, stop=None)
        -> Iterator[FrameWindow]

Stages (pure unless noted): ``sources`` (registry of source kinds), ``media``
and ``decode`` (PyAV I/O), ``session`` (connect/reconnect, I/O), ``sampler``,
``windower``, ``activity``, ``encode``; ``pipeline`` wires them.
"""
from __future__ import annotations

from ingest.config import IngestConfig, Progress, SourceInfo
from ingest.pipeline import iter_windows
from ingest.probe import probe

__all__ = ["IngestConfig", "Progress", "SourceInfo", "iter_windows", "probe"]
