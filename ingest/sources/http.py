"""Media files over http(s). Live when the server does not say how long it is."""
from __future__ import annotations

from ingest.sources.base import SourceKind, has_scheme, microseconds


def http_options(config) -> dict[str, str]:
    """Protocol options shared by http files and HLS playlists."""
    return {
        "timeout": microseconds(config.read_timeout_s),
        # FFmpeg's own resume of a download cut mid-file (a range request). Not
        # reconnect_on_network_error: it retries a refused connection internally
        # until the open timeout, hiding the refusal; refusals are ours to retry.
        "reconnect": "1",
        "reconnect_delay_max": str(max(1, int(config.backoff_max_s))),
    }


HTTP = SourceKind(
    name="http",
    matches=lambda source: has_scheme(source, "http", "https"),
    live=None,
    network=True,
    av_options=http_options,
)
