"""A local ``redis-server`` (Debian's redis-server package) on loopback. Ready means it answers PING.

``persist=False`` (tests): no snapshots, no append-only file, nothing written to disk. ``persist=True``
(``vila-stream cluster up``): append-only file in ``<run_dir>/<name>-data``, so results survive a restart.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import redis

from services.cluster.ports import require_free
from services.cluster.process import ManagedProcess
from core.errors import MissingDependency


def find_redis_server() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        raise MissingDependency("redis-server not found: run make install (apt-get install redis-server)")
    return exe


class RedisServer(ManagedProcess):
    """One Redis on ``host:port``. ``url`` is what clients pass to ``redis.Redis.from_url``."""

    def __init__(self, run_dir: Path | str, *, port: int, host: str = "127.0.0.1", name: str = "redis",
                 persist: bool = False, die_with_parent: bool = False) -> None:
        self.host, self.port, self.persist = host, port, persist
        exe = find_redis_server()
        super().__init__(name, run_dir, endpoint=f"{host}:{port}", die_with_parent=die_with_parent)
        self.data_dir = self.run_dir / f"{name}-data"
        self.cwd = self.data_dir
        durability = (["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1000"] if persist
                      else ["--appendonly", "no", "--save", ""])
        self.argv = [exe, "--port", str(port), "--bind", host, "--daemonize", "no", "--logfile", "",
                     "--dir", str(self.data_dir), *durability]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        """A new client of database 0 (``decode_responses`` and the like go through ``kwargs``)."""
        return redis.Redis(host=self.host, port=self.port, db=0, **kwargs)

    def check_ports(self) -> None:
        require_free(self.name, self.host, self.port, "another Redis? pick another port")

    def prepare(self) -> None:
        self.check_ports()
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def probe(self) -> bool:
        with redis.Redis(host=self.host, port=self.port, socket_timeout=1, socket_connect_timeout=1) as conn:
            return bool(conn.ping())
