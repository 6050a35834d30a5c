"""Local files: any container and codec PyAV reads (MP4, MKV, MOV, TS, WebM, ...)."""
from __future__ import annotations

import os
from pathlib import Path

from ingest.sources.base import SourceKind, has_scheme
from core.errors import InvalidInput, NotAVideo, SourceError, SourceNotFound


def local_path(source: str) -> str:
    """``file:///x.mp4`` -> ``/x.mp4``; anything else unchanged."""
    return source[len("file://"):] if source.lower().startswith("file://") else source


def _precheck(source: str) -> None:
    """Fail before FFmpeg does, with messages a user can act on."""
    path = Path(local_path(source))
    if not path.exists():
        raise SourceNotFound(f"{source}: no such file")
    if path.is_dir():
        raise InvalidInput(f"{source}: is a directory, not a video file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{source}: permission denied")
    if path.stat().st_size == 0:
        raise NotAVideo(f"{source} is empty (0 bytes)")


def _matches(source: str) -> bool:
    # Anything that is not a URL of another kind; "C:\..." style paths have a one-letter "scheme".
    return "://" not in source or has_scheme(source, "file")


FILE = SourceKind(
    name="file",
    matches=_matches,
    live=False,
    network=False,
    av_options=lambda config: {},
    precheck=_precheck,
)
