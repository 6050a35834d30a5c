"""Settings of the summarizer: one field = one flag = one environment variable (``VILA_SUMMARIZER_*``).

Its clients (the CLI's ``timeline``/``summary``/``streams``/``watch``) find it through ``client_address``:
``VILA_SUMMARIZER_ADDRESS``, else where a summarizer with default settings listens.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from core.errors import InvalidInput
from core.settings import setting

PREFIX = "VILA_SUMMARIZER_"
ADDRESS_ENV = "VILA_SUMMARIZER_ADDRESS"


@dataclass(frozen=True)
class SummarizerSettings:
    kafka_bootstrap: str = field(default="127.0.0.1:19092",
                                 metadata=setting("Kafka bootstrap servers (host:port,...)",
                                                  env="VILA_KAFKA_BOOTSTRAP"))
    redis_url: str = field(default="redis://127.0.0.1:16379/0",
                           metadata=setting("Redis URL the timelines are written to", env="VILA_REDIS_URL"))
    host: str = field(default="127.0.0.1", metadata=setting("address the gRPC server listens on"))
    port: int = field(default=50061, metadata=setting("gRPC port of vila.v1.Summaries (0 picks a free one)"))
    group_id: str = field(default="vila-summarizer", metadata=setting("Kafka consumer group"))
    session_timeout_ms: int = field(default=10000, metadata=setting(
        "Kafka group session timeout: how soon a dead summarizer's partitions move to another (>= 6000)"))
    max_poll_records: int = field(default=200, metadata=setting("records per Kafka poll, written as one batch"))
    summary_segments: int = field(default=256,
                                  metadata=setting("most recent segments the rolling summary is made of"))
    events_kept: int = field(default=1000, metadata=setting("stream events kept per stream"))
    updates_kept: int = field(default=10000,
                              metadata=setting("entries kept in the vila:updates stream that Watch reads"))
    grace_s: float = field(default=5.0, metadata=setting("seconds in-flight calls get on shutdown"))

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidInput(f"summarizer port must be 0..65535, got {self.port}")
        if self.session_timeout_ms < 6000:
            raise InvalidInput(f"summarizer session_timeout_ms must be >= 6000 (the broker's minimum), "
                               f"got {self.session_timeout_ms}")
        for name in ("max_poll_records", "summary_segments", "events_kept", "updates_kept"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"summarizer {name} must be >= 1, got {getattr(self, name)}")
        if self.grace_s < 0:
            raise InvalidInput(f"summarizer grace_s must be >= 0, got {self.grace_s}")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise InvalidInput(f"summarizer redis_url must be a redis:// URL, got {self.redis_url!r}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


DEFAULT_ADDRESS = f"{SummarizerSettings.host}:{SummarizerSettings.port}"  # the local cluster's


def client_address(environ: Mapping[str, str] | None = None) -> str:
    """Where clients find the summarizer: ``VILA_SUMMARIZER_ADDRESS`` in ``environ`` (default ``os.environ``),
    else ``DEFAULT_ADDRESS`` (an empty value counts as unset)."""
    environ = os.environ if environ is None else environ
    return environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
