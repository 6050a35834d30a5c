"""Translate PyAV/FFmpeg exceptions into the project's typed errors.

Nothing raw from ``av.error`` crosses the public API: every failure to open a
source becomes a ``SourceError`` subclass whose message names the source and
the problem on one line. ``is_retryable`` says which of them a reconnect loop
may retry (a refused or silent server may come back; a wrong path or a text file
will not).
"""
from __future__ import annotations

import errno

import av

from core.errors import (
    CorruptMedia,
    InvalidInput,
    NotAVideo,
    SourceError,
    SourceNotFound,
    SourceUnreachable,
    VilaError,
)

# Leading bytes of containers we can name when FFmpeg refuses a file: a file that
# starts like a known container but does not open was cut short or damaged.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "MP4/MOV"),
    (4, b"moov", "MP4/MOV"),
    (4, b"mdat", "MP4/MOV"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"RIFF", "AVI"),
    (0, b"FLV", "FLV"),
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
)

_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH,
                   errno.ETIMEDOUT, errno.EPIPE, errno.ECONNABORTED, errno.EIO}


def sniff_container(path: str) -> str | None:
    """Name of the container ``path`` starts like, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    for offset, magic, name in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return name
    if head[:1] == b"\x47":  # MPEG-TS sync byte; one is weak evidence, so check the next packet
        try:
            with open(path, "rb") as fh:
                fh.seek(188)
                if fh.read(1) == b"\x47":
                    return "MPEG-TS"
        except OSError:
            return None
    return None


def _reason(exc: BaseException) -> str:
    """FFmpeg's message without the '[Errno N]' prefix and the repeated file name."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.strip().rstrip(".")


def classify_open_error(exc: BaseException, name: str, *, network: bool, local_path: str | None = None,
                        open_timeout_s: float | None = None, always_live: bool = False) -> VilaError:
    """The typed error for an exception raised while opening ``name``.

    ``local_path`` is given for files, so a recognisable but unreadable file is
    reported as CorruptMedia rather than NotAVideo. ``always_live`` (cameras):
    unreadable data at open means nothing arrived yet, a retryable condition.
    """
    if isinstance(exc, VilaError):
        return exc
    if isinstance(exc, av.error.HTTPNotFoundError):
        return SourceNotFound(f"{name}: not found (404): check the path or stream name")
    if isinstance(exc, (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError)):
        return SourceUnreachable(f"{name}: access denied ({_reason(exc)}): check the credentials")
    if isinstance(exc, av.error.HTTPClientError):
        return SourceNotFound(f"{name}: rejected by the server ({_reason(exc)})")
    if isinstance(exc, av.error.HTTPServerError):
        return SourceUnreachable(f"{name}: server error ({_reason(exc)})")
    if isinstance(exc, av.error.ProtocolNotFoundError):
        return InvalidInput(f"{name}: this URL scheme is not supported by the media library")
    if isinstance(exc, (av.error.ExitError, av.error.TimeoutError, TimeoutError)):
        after = f" within {open_timeout_s:g} s" if open_timeout_s else ""
        return SourceUnreachable(f"{name}: no answer{after} (timed out)")
    if isinstance(exc, ConnectionRefusedError):
        return SourceUnreachable(f"{name}: connection refused (is the server running?)")
    if isinstance(exc, av.error.FileNotFoundError) or isinstance(exc, FileNotFoundError):
        return SourceNotFound(f"{name}: no such file")
    if isinstance(exc, PermissionError):
        return SourceError(f"{name}: permission denied")
    # A file that exists but whose demuxer runs into invalid data, its end or a read error at open is damaged
    # (when it starts like a known container) or no video at all.
    unreadable = isinstance(exc, (av.error.InvalidDataError, av.error.DemuxerNotFoundError)) or (
        local_path is not None and (isinstance(exc, EOFError) or (isinstance(exc, OSError) and exc.errno == errno.EIO)))
    if unreadable:
        if local_path is not None:
            container = sniff_container(local_path)
            if container is not None:
                return CorruptMedia(f"{name}: looks like {container} but cannot be opened "
                                    f"(truncated or damaged: {_reason(exc)})")
            return NotAVideo(f"{name} is not a video file (no container format recognised)")
        if always_live:
            # A camera that accepts the session but sends nothing leaves the probe without
            # data: that is an unreachable stream (retry), not a wrong kind of file.
            return SourceUnreachable(f"{name}: no media data arrived (is the camera sending?)")
        return NotAVideo(f"{name}: the server's data is not a recognised media stream")
    if network and isinstance(exc, OSError) and exc.errno == errno.EIO:
        # What FFmpeg returns when the host name does not resolve (it only logs the reason).
        return SourceUnreachable(f"{name}: unreachable (host name not resolved or network error)")
    if network and isinstance(exc, OSError) and (exc.errno in _NETWORK_ERRNOS or isinstance(exc, ConnectionError)):
        return SourceUnreachable(f"{name}: unreachable ({_reason(exc)})")
    if network and isinstance(exc, av.error.FFmpegError):
        return SourceUnreachable(f"{name}: cannot connect ({_reason(exc)})")
    return SourceError(f"{name}: cannot be opened ({_reason(exc)})")


def is_retryable(error: VilaError) -> bool:
    """May a reconnect loop try again? Only for unreachable/timed-out sources."""
    return isinstance(error, SourceUnreachable)


def is_read_timeout(exc: BaseException) -> bool:
    """A blocked read ended by a timeout (socket option or PyAV's interrupt callback)."""
    return isinstance(exc, (av.error.ExitError, av.error.TimeoutError, TimeoutError))
