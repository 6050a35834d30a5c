"""Registry of source kinds. Add a kind: write ``<kind>.py`` and list it in ``KINDS``.

Order matters: the first kind whose ``matches`` accepts the source wins, so the
specific kinds (HLS is an http URL) come before the general ones and local files last.
"""
from __future__ import annotations

from ingest.sources.base import SourceKind, display_name
from ingest.sources.file import FILE, local_path
from ingest.sources.hls import HLS
from ingest.sources.http import HTTP
from ingest.sources.rtsp import RTSP
from core.errors import InvalidInput

KINDS: tuple[SourceKind, ...] = (RTSP, HLS, HTTP, FILE)

__all__ = ["KINDS", "SourceKind", "display_name", "local_path", "resolve"]


def resolve(source: str) -> SourceKind:
    """The kind that handles ``source``; InvalidInput for empty or unknown URL schemes."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("source is empty: give a file path or an rtsp://, http(s):// URL")
    for kind in KINDS:
        if kind.matches(source):
            return kind
    scheme = source.split("://", 1)[0]
    raise InvalidInput(f"{display_name(source)}: unsupported URL scheme {scheme!r} "
                       f"(supported: file paths, rtsp://, http(s)://, .m3u8)")
