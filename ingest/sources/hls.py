"""HLS playlists (``.m3u8``): VOD when the playlist has an end, live otherwise."""
from __future__ import annotations

from urllib.parse import urlsplit

from ingest.sources.base import SourceKind, has_scheme
from ingest.sources.http import http_options


def _matches(source: str) -> bool:
    path = urlsplit(source).path.lower()
    return has_scheme(source, "http", "https") and path.endswith((".m3u8", ".m3u"))


HLS = SourceKind(
    name="hls",
    matches=_matches,
    live=None,
    network=True,
    av_options=http_options,
)
