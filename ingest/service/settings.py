"""``IngestSettings``: flags > ``VILA_INGEST_*`` env > defaults (read here and nowhere else).

Streams come from three places, all merged: ``--config FILE`` (a TOML streams file, see
``ingest.service.streams``), ``--streams ID=SOURCE,...`` (env ``VILA_INGEST_STREAMS``, handy in
docker-compose) and repeated ``--source SOURCE --stream-id ID`` pairs on the command line. The
windowing fields below are the defaults of every stream; a streams file may override them per stream.
Their defaults are ``IngestConfig``'s (declared there, once). ``stride_seconds``, ``fps``, ``max_seconds`` and
``frames_per_window`` may be None ("not set", as in ``IngestConfig``); flags and variables spell that ``0``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Mapping

from ingest.config import IngestConfig
from ingest.service.streams import StreamSpec, check_unique, load_streams_file, parse_pairs
from core.errors import InvalidInput
from core.settings import add_arguments, from_args, setting

PREFIX = "VILA_INGEST_"
_DEFAULTS = IngestConfig()
# The fields shared with IngestConfig; backoff_max_s is passed on apart (see ingest_config).
WINDOWING = ("window_seconds", "stride_seconds", "frames_per_window", "fps", "max_side", "jpeg_quality",
             "max_seconds", "open_timeout_s", "read_timeout_s", "max_open_attempts")


@dataclass(frozen=True)
class IngestSettings:
    kafka_bootstrap: str = field(default="127.0.0.1:19092", metadata=setting(
        "Kafka bootstrap servers, host:port[,host:port]", env="VILA_KAFKA_BOOTSTRAP"))
    config: str = field(default="", metadata=setting("TOML streams file ([defaults] and [[stream]] tables)"))
    streams: tuple[str, ...] = field(default=(), metadata=setting("streams as ID=SOURCE, comma-separated"))
    queue_size: int = field(default=8, metadata=setting(
        "windows buffered per stream between the decoder and Kafka, 1..1024 (live: oldest dropped when full)"))
    file_backpressure: bool = field(default=True, metadata=setting(
        "files wait for Kafka when their queue is full instead of dropping (live sources always drop)"))
    window_seconds: float = field(default=_DEFAULTS.window_seconds, metadata=setting("window length, seconds"))
    stride_seconds: float | None = field(default=_DEFAULTS.stride_seconds, metadata=setting(
        "seconds between window starts (0 = window length)"))
    frames_per_window: int | None = field(default=_DEFAULTS.frames_per_window, metadata=setting(
        "frames sampled per window (0 = use fps only)"))
    fps: float | None = field(default=_DEFAULTS.fps, metadata=setting("sampling rate, frames per second (0 = off)"))
    max_side: int = field(default=_DEFAULTS.max_side, metadata=setting("largest frame side after resizing, pixels"))
    jpeg_quality: int = field(default=_DEFAULTS.jpeg_quality, metadata=setting("JPEG quality of frames, 1..100"))
    max_seconds: float | None = field(default=_DEFAULTS.max_seconds, metadata=setting(
        "stop each stream after S seconds (0 = never)"))
    open_timeout_s: float = field(default=_DEFAULTS.open_timeout_s, metadata=setting(
        "network sources: open timeout, seconds"))
    read_timeout_s: float = field(default=_DEFAULTS.read_timeout_s, metadata=setting(
        "network sources: no data this long = stalled"))
    max_open_attempts: int = field(default=_DEFAULTS.max_open_attempts, metadata=setting(
        "a source never opened fails after N attempts"))
    backoff_max_s: float = field(default=_DEFAULTS.backoff_max_s, metadata=setting("largest reconnect delay, seconds"))
    connect_timeout_s: float = field(default=10.0, metadata=setting(
        "how long to wait for Kafka at start before giving up, seconds"))
    send_timeout_s: float = field(default=30.0, metadata=setting(
        "how long Kafka may hold a window unacknowledged before it is sent again (never given up), >= 1"))
    stats_interval_s: float = field(default=10.0, metadata=setting("seconds between progress log lines (0 = off)"))
    from_start: bool = field(default=False, metadata=setting(
        "files: publish every window, also those an earlier run of the same file and stream id published"))

    def __post_init__(self) -> None:
        if not 1 <= self.queue_size <= 1024:
            raise InvalidInput(f"queue_size: must be in 1..1024, got {self.queue_size}")
        if self.connect_timeout_s <= 0:
            raise InvalidInput(f"connect_timeout_s: must be > 0, got {self.connect_timeout_s}")
        if self.send_timeout_s < 1:
            raise InvalidInput(f"send_timeout_s: must be >= 1, got {self.send_timeout_s}")
        if self.stats_interval_s < 0:
            raise InvalidInput(f"stats_interval_s: must be >= 0, got {self.stats_interval_s}")
        self.ingest_config()  # validates the windowing fields

    def ingest_config(self) -> IngestConfig:
        """The windowing defaults of every stream; InvalidInput naming the field."""
        # The first retry's delay is not a setting: a smaller backoff_max_s lifts to it instead of failing.
        return IngestConfig(**{name: getattr(self, name) for name in WINDOWING},
                            backoff_max_s=max(self.backoff_max_s, _DEFAULTS.backoff_initial_s))

    def stream_specs(self, sources: list[str] = (), stream_ids: list[str] = ()) -> list[StreamSpec]:
        """Every stream to ingest: the streams file, ``streams``, then the ``--source``/``--stream-id`` pairs."""
        base = self.ingest_config()
        specs = load_streams_file(self.config, base) if self.config else []
        specs += parse_pairs(self.streams, base, "streams")
        if len(sources) != len(stream_ids):
            raise InvalidInput(f"--source is given {len(sources)} time(s) and --stream-id {len(stream_ids)}: "
                               f"give one --stream-id per --source")
        specs += parse_pairs([f"{i}={s}" for s, i in zip(sources, stream_ids)], base, "--source/--stream-id")
        return check_unique(specs)


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Every setting's flag, plus the repeatable ``--source``/``--stream-id`` pairs."""
    add_arguments(parser, IngestSettings, PREFIX)
    parser.add_argument("--source", action="append", default=[], metavar="SOURCE",
                        help="a video file, http(s):// or .m3u8 URL, or rtsp:// camera (repeatable)")
    parser.add_argument("--stream-id", action="append", default=[], metavar="ID",
                        help="the id of the --source at the same position (repeatable)")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> IngestSettings:
    return from_args(IngestSettings, args, PREFIX, environ)
