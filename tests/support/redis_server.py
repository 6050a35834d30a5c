"""Session fixture ``redis_server``: one real ``redis-server`` on a free loopback port, no persistence.

``redis_server.url`` ("redis://127.0.0.1:PORT/0"), ``.port`` and ``.client()`` (a new ``redis.Redis``).
Tests share it: use keys under a prefix of their own or call ``flushdb()`` first. Skipped, with the reason, only
when redis-server is missing (``make test`` installs it).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from services.cluster import RedisServer, free_port
from core.errors import MissingDependency

__all__ = ["redis_server"]

REDIS_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"), port=free_port(), die_with_parent=True)
    except MissingDependency as exc:
        pytest.skip(str(exc))
    server.start(REDIS_START_TIMEOUT_S)
    try:
        yield server
    finally:
        server.stop()
