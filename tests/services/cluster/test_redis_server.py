"""The local Redis: a real redis-server answering PING, and a clear error on a busy port."""
from __future__ import annotations

import socket

import pytest

from services.cluster import RedisServer
from core.errors import ClusterError


def test_redis_answers(redis_server):
    client = redis_server.client()
    assert client.ping()
    client.set("vila:test:cluster", "1")
    assert client.get("vila:test:cluster") == b"1"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"


def test_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = RedisServer(tmp_path, port=port)
        with pytest.raises(ClusterError, match=rf"redis: port 127\.0\.0\.1:{port} is already in use"):
            server.start(timeout=10)
        assert not server.running()


def test_persistent_redis_keeps_data_across_restart(tmp_path):
    from services.cluster import free_port

    server = RedisServer(tmp_path, port=free_port(), persist=True, die_with_parent=True).start(timeout=30)
    try:
        server.client().set("vila:test:kept", "yes")
        server.restart(timeout=30)
        assert server.client().get("vila:test:kept") == b"yes"
    finally:
        server.stop()


def test_missing_redis_server_says_run_make_install(monkeypatch, tmp_path):
    from services.cluster.redis_server import find_redis_server
    from core.errors import MissingDependency

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependency, match="redis-server not found: run make install"):
        find_redis_server()
