"""RTSP cameras: always live, always over TCP, always with timeouts.

TCP because UDP loses packets (smeared frames) and is blocked by most NATs;
timeouts because a frozen server otherwise blocks a read forever (measured);
a small analyzeduration because stream-info probing costs ~2 s per (re)connect.
"""
from __future__ import annotations

from ingest.sources.base import SourceKind, has_scheme, microseconds


def _options(config) -> dict[str, str]:
    return {
        "rtsp_transport": "tcp",
        # Socket I/O timeout: a silent server raises TimeoutError instead of hanging.
        "timeout": microseconds(config.read_timeout_s),
        "analyzeduration": "500000",
        "probesize": "500000",
    }


RTSP = SourceKind(
    name="rtsp",
    matches=lambda source: has_scheme(source, "rtsp", "rtsps"),
    live=True,
    network=True,
    av_options=_options,
)
