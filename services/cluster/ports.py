"""Loopback ports: pick a free one, refuse a busy one with an error that names who wanted it."""
from __future__ import annotations

import errno
import socket

from core.errors import ClusterError


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's choice). Another process may take it before us: tests only."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` now.

    SO_REUSEADDR, as servers set it, so that a port left in TIME_WAIT by a server we just stopped counts as free,
    while a port with a listening socket does not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def require_free(name: str, host: str, port: int, hint: str = "") -> None:
    """ClusterError naming ``name`` and the address when ``host:port`` is taken."""
    if not port_is_free(host, port):
        more = f" ({hint})" if hint else ""
        raise ClusterError(f"{name}: port {host}:{port} is already in use by another process{more}")


def can_connect(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
