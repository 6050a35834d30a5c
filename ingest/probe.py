"""``probe``: what a source is, without decoding it (one frame at most)."""
from __future__ import annotations

import threading

from core.backoff import Backoff
from ingest.config import IngestConfig, SourceInfo
from ingest.media import open_media
from ingest.media_errors import is_retryable
from ingest.sources import resolve
from core.errors import InvalidInput, VilaError


def probe(source: str, config: IngestConfig = IngestConfig(), *, stop: threading.Event | None = None) -> SourceInfo:
    """Open ``source``, read its header, close it.

    Network sources get ``config.max_open_attempts`` attempts with backoff for
    unreachable/timed-out errors (``stop`` cuts the waits short). Returns a
    ``SourceInfo``; raises the same typed errors as ``iter_windows`` at open
    (SourceNotFound, SourceUnreachable, NotAVideo, UnsupportedCodec,
    CorruptMedia, InvalidInput).
    """
    if not isinstance(config, IngestConfig):
        raise InvalidInput(f"config must be an IngestConfig, got {type(config).__name__}")
    kind = resolve(source)
    backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, config.backoff_multiplier)
    stop = stop or threading.Event()
    attempt = 0
    while True:
        attempt += 1
        try:
            media = open_media(source, kind, config)
            break
        except VilaError as error:
            if not (kind.network and is_retryable(error)) or attempt >= config.max_open_attempts:
                raise
            if stop.wait(backoff.next_delay()):
                raise
    try:
        return media.info(source)
    finally:
        media.close()
