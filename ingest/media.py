"""Opening a source: the container, its video stream and what its header says.

Thin I/O over PyAV. ``open_media`` returns an ``OpenMedia`` or raises a typed
error (SourceNotFound, SourceUnreachable, NotAVideo, UnsupportedCodec,
CorruptMedia, InvalidInput); it never lets an ``av.error`` escape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import av
import av.stream

from ingest.config import IngestConfig, SourceInfo
from ingest.media_errors import classify_open_error
from ingest.sources import SourceKind, display_name, local_path
from core.errors import NotAVideo, UnsupportedCodec

_TAG_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")

# Demuxers that "open" things that are not videos: FFmpeg renders any text file as
# ANSI art ("tty") and arbitrary bytes as a "bin" picture. Single images come
# through the "<codec>_pipe" demuxers.
_NOT_VIDEO_FORMATS = {
    "tty": "a text file",
    "bin": "binary data, not a video",
    "xbin": "a text-mode picture",
    "idf": "a text-mode picture",
    "adf": "a text-mode picture",
}


@dataclass
class OpenMedia:
    """An opened source, positioned at its start.

    ``header_duration`` is the video stream's own duration from the container
    (None when the container does not record one per stream); it is what a
    truncated file is measured against. ``duration`` is the best guess for
    display (falls back to the container's duration, which may include audio).
    ``start_time`` is the video stream's first timestamp in seconds.
    """

    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    name: str
    kind: SourceKind
    live: bool
    start_time: float | None
    header_duration: float | None
    duration: float | None
    fps: float | None
    display_aspect: float  # width / height as displayed (non-square pixels included)

    def close(self) -> None:
        try:
            self.container.close()
        except Exception:  # closing a half-dead network container must not mask the real outcome
            pass

    def info(self, source: str) -> SourceInfo:
        ctx = self.stream.codec_context
        return SourceInfo(source=display_name(source), kind=self.kind.name, live=self.live,
                          duration=None if self.live else self.duration, fps=self.fps,
                          width=int(ctx.width), height=int(ctx.height), codec=ctx.name)


def open_media(source: str, kind: SourceKind, config: IngestConfig) -> OpenMedia:
    """Open ``source`` and select its video stream (one attempt, no retry).

    Raises a typed SourceError (see module docstring); retrying is the caller's policy.
    """
    name = display_name(source)
    kind.precheck(source)
    target = local_path(source) if kind.name == "file" else source
    kwargs: dict = {"options": kind.av_options(config)}
    if kind.network:
        # PyAV's interrupt callback: bounds the open and every later blocking read.
        kwargs["timeout"] = (config.open_timeout_s, config.read_timeout_s)
    try:
        container = av.open(target, "r", **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is translated, none escapes raw
        raise classify_open_error(exc, name, network=kind.network,
                                  local_path=target if kind.name == "file" else None,
                                  open_timeout_s=config.open_timeout_s, always_live=kind.live is True) from None
    try:
        _reject_non_video(container, name)
        stream = select_video_stream(container, name)
        _configure_decoder(stream)
        return _describe(container, stream, name, kind)
    except BaseException:
        container.close()
        raise


def _reject_non_video(container, name: str) -> None:
    """NotAVideo for text files, random bytes and still images that FFmpeg can "open"."""
    fmt = container.format.name.split(",")[0]
    if fmt in _NOT_VIDEO_FORMATS:
        raise NotAVideo(f"{name} is not a video file ({_NOT_VIDEO_FORMATS[fmt]})")
    if fmt.endswith("_pipe"):
        raise NotAVideo(f"{name} is a still image ({fmt[:-5]}), not a video")


def select_video_stream(container, name: str):
    """The video stream to decode: the largest decodable one that is not cover art.

    Raises NotAVideo when there is no video (audio-only, text, cover art only) and
    UnsupportedCodec when the only video streams have no decoder in this build.
    """
    videos = [s for s in container.streams.video
              if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not videos:
        others = [s.type for s in container.streams]
        found = ", ".join(f"{others.count(t)} {t}" for t in dict.fromkeys(others)) or "no streams"
        raise NotAVideo(f"{name} has no video stream (found: {found})")
    decodable = [s for s in videos if s.codec_context is not None]
    if not decodable:
        raise UnsupportedCodec(f"{name}: video stream #{videos[0].index} uses a codec this build "
                               f"of FFmpeg cannot decode (no decoder available)")
    return max(decodable, key=lambda s: (s.codec_context.width * s.codec_context.height, -s.index))


def _configure_decoder(stream) -> None:
    # AUTO lets FFmpeg use frame threads (H.264/HEVC scale with cores). Frame threading
    # also keeps error resilience on, which is what marks damaged frames as corrupt;
    # slice threading alone disables it (measured on flipped H.264 bytes).
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = 0  # 0 = one per core


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _tag_duration(stream) -> float | None:
    """Matroska/WebM keep per-track duration in a "DURATION" tag (HH:MM:SS.nnnnnnnnn)."""
    for key, value in (stream.metadata or {}).items():
        if key.upper() == "DURATION":
            match = _TAG_DURATION.match(value.strip())
            if match:
                h, m, s = match.groups()
                return int(h) * 3600 + int(m) * 60 + float(s)
    return None


def _rate(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) < 1000:  # RTSP reports a 90 kHz "rate" when it does not know
            return float(rate)
    return None


def _describe(container, stream, name: str, kind: SourceKind) -> OpenMedia:
    header = _seconds(stream.duration, stream.time_base) or _tag_duration(stream)
    whole = container.duration / av.time_base if container.duration else None
    if kind.live is None:
        live = header is None and whole is None  # no duration: a live playlist or an endless http stream
    else:
        live = kind.live
    ctx = stream.codec_context
    sar = stream.sample_aspect_ratio or ctx.sample_aspect_ratio
    sar = float(Fraction(sar)) if sar else 1.0
    aspect = (ctx.width * sar / ctx.height) if ctx.width and ctx.height else 0.0
    return OpenMedia(
        container=container, stream=stream, name=name, kind=kind, live=live,
        start_time=_seconds(stream.start_time, stream.time_base),
        header_duration=None if live else header,
        duration=None if live else (header or whole),
        fps=_rate(stream), display_aspect=aspect,
    )
