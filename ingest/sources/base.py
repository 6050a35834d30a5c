"""What a source kind is: how to recognise it, open it and name it in messages.

One file per kind (``file.py``, ``rtsp.py``, ``http.py``, ``hls.py``); the registry in
``ingest.sources`` picks the first kind whose ``matches`` accepts the source string.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from ingest.config import IngestConfig


def _no_check(source: str) -> None:
    return None


@dataclass(frozen=True)
class SourceKind:
    """A kind of source.

    name:        "file", "rtsp", "http" or "hls" (reported in ``SourceInfo.kind``).
    matches:     does this kind handle the source string?
    live:        True (always live), False (never) or None (decided after opening:
                 a source without a duration, e.g. a live HLS playlist, is live).
    network:     opened with timeouts; refusals and timeouts are retried.
    av_options:  options for ``av.open`` (format and protocol options) for a config.
    precheck:    raises a typed error before opening (missing or empty file).
    """

    name: str
    matches: Callable[[str], bool]
    live: bool | None
    network: bool
    av_options: Callable[["IngestConfig"], dict[str, str]]
    precheck: Callable[[str], None] = field(default=_no_check)


def microseconds(seconds: float) -> str:
    """FFmpeg protocol timeouts are integer microseconds, passed as strings."""
    return str(max(1, int(round(seconds * 1_000_000))))


def has_scheme(source: str, *schemes: str) -> bool:
    return urlsplit(source).scheme.lower() in schemes


def display_name(source: str) -> str:
    """The source as shown in messages: a path as given, a URL without credentials."""
    parts = urlsplit(source)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))
    return source
