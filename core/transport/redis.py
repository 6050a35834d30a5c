"""Redis adapter: clients that answered, for the summarizer's store (blocking) and reader (asyncio).

``connect(url)`` returns a blocking client that answered PING; ``connect_async(url)`` an asyncio client
(it connects on first use). ``shown(url)`` is the URL without credentials, for logs and messages. An
unreachable Redis is ``BrokerUnavailable`` naming the URL (exit 5).
"""
from __future__ import annotations

import redis
import redis.asyncio as aioredis

from core.errors import BrokerUnavailable

CONNECT_TIMEOUT_S = 5


def shown(url: str) -> str:
    """``url`` without credentials, for logs and error messages."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.rpartition("@")[2] if sep else url


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that answered PING; ``BrokerUnavailable`` naming the URL otherwise."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise BrokerUnavailable(f"Redis at {shown(url)} is unreachable ({exc}); is the cluster up? "
                                f"(set VILA_REDIS_URL or --redis-url)") from None
    return client


def connect_async(url: str) -> aioredis.Redis:
    """An asyncio client for ``url`` (it connects on first use)."""
    return aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
