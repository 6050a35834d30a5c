"""Synthetic video clips for tests, encoded with PyAV (no external tools).

Helpers:
    make_clip(path, seconds=, fps=, size=, audio=, scene=)  -> Path
        Encode a synthetic clip; container and codec follow the suffix
        (see ``CODEC_BY_SUFFIX``). ``audio=True`` adds an audio track as
        stream 0, *before* the video stream, so readers must select the
        video stream explicitly.
    make_audio_only(path, seconds=)                         -> Path
    make_unsupported_codec_clip(path)                       -> Path
        An MPEG-TS whose video stream is declared as AVS2, a codec FFmpeg
        knows but PyAV's build cannot decode.
    make_codecless_clip(path)                               -> Path
        A Matroska file whose video track has a codec id no demuxer maps
        (a video stream with codec "none").
    synthetic_frames(scene, n, size)                        -> list[np.ndarray]
        The RGB frames ``make_clip`` encodes, for pure (no codec) unit tests.

Fixtures:
    clip_dir (session): a directory of small clips shared by the whole run
        (``clip_dir / "moving.mp4"`` etc., see ``STANDARD_CLIPS``).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

__all__ = [
    "CODEC_BY_SUFFIX",
    "STANDARD_CLIPS",
    "clip_dir",
    "make_audio_only",
    "make_clip",
    "make_codecless_clip",
    "make_unsupported_codec_clip",
    "synthetic_frames",
]

# suffix -> (encoder, extra encoder options). Formats are inferred by FFmpeg from the suffix.
CODEC_BY_SUFFIX: dict[str, tuple[str, dict[str, str]]] = {
    ".mp4": ("libx264", {"preset": "ultrafast", "g": "15", "bf": "2"}),
    ".mkv": ("libx264", {"preset": "ultrafast", "g": "15"}),
    ".mov": ("libx264", {"preset": "ultrafast", "g": "15"}),
    ".ts": ("mpeg2video", {"g": "15"}),
    # VP9 defaults to a slow "good" deadline; realtime keeps fixture generation fast.
    ".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "g": "15"}),
    ".avi": ("mpeg4", {"g": "15"}),
}
AUDIO_BY_SUFFIX = {".webm": "libopus", ".avi": "mp2", ".ts": "mp2"}

# name -> make_clip keyword arguments; built once per test session by ``clip_dir``.
STANDARD_CLIPS: dict[str, dict] = {
    "moving.mp4": dict(seconds=5.0, fps=10),
    "moving.mkv": dict(seconds=5.0, fps=10),
    "moving.mov": dict(seconds=5.0, fps=10),
    "moving.ts": dict(seconds=5.0, fps=10),
    "moving.webm": dict(seconds=5.0, fps=10),
    "audio_first.mp4": dict(seconds=3.0, fps=10, audio=True),
    "short.mp4": dict(seconds=1.5, fps=10),
    "ramp.mp4": dict(seconds=4.0, fps=10, scene="brightness-ramp"),
    "static.mp4": dict(seconds=4.0, fps=10, scene="static"),
    "long.mkv": dict(seconds=12.0, fps=10),
}


def _texture(size: tuple[int, int]) -> np.ndarray:
    """A deterministic, smooth-ish texture so frames have structure for normalisation."""
    w, h = size
    rng = np.random.default_rng(1234)
    coarse = rng.integers(40, 200, size=(h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
    tex = np.kron(coarse, np.ones((8, 8, 1), dtype=np.uint8))[:h, :w]
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = ((np.sin(xx / 5.0) + np.cos(yy / 7.0)) * 20).astype(np.int16)
    return np.clip(tex.astype(np.int16) + stripes[..., None], 0, 255).astype(np.uint8)


def synthetic_frames(scene: str, n: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """RGB uint8 frames (h, w, 3) of a synthetic scene.

    scene: "moving-square" (a white square crossing a textured background left to
    right over the n frames), "brightness-ramp" (the static background whose global
    brightness goes from 35 % to 100 %, like auto-exposure) or "static".
    """
    w, h = size
    base = _texture(size)
    frames = []
    side = max(8, min(w, h) // 4)
    for i in range(n):
        f = base.copy()
        if scene == "moving-square":
            x = int(round((w - side) * i / max(1, n - 1)))
            y = (h - side) // 2
            f[y:y + side, x:x + side] = (250, 250, 250)
        elif scene == "brightness-ramp":
            gain = 0.35 + 0.65 * i / max(1, n - 1)
            f = np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        elif scene != "static":
            raise ValueError(f"unknown scene {scene!r}")
        frames.append(f)
    return frames


def _add_audio(container, suffix: str):
    import av  # noqa: F401  (imported lazily so collecting tests needs no av)

    codec = AUDIO_BY_SUFFIX.get(suffix, "aac")
    rate = 48000
    stream = container.add_stream(codec, rate=rate)
    stream.layout = "stereo"
    return stream


def _encode_audio(stream, seconds: float) -> list:
    import av

    rate = stream.codec_context.sample_rate
    fmt = stream.codec_context.format.name
    size = stream.codec_context.frame_size or 1024
    packets, pts, total = [], 0, int(seconds * rate)
    while pts < total:
        t = (np.arange(pts, pts + size) / rate).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        planar = fmt.endswith("p")
        data = np.stack([tone, tone]) if planar else np.stack([tone, tone], axis=1).reshape(1, -1)
        if fmt.startswith("s16"):
            data = (data * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="stereo")
        frame.sample_rate = rate
        frame.pts = pts
        packets.extend(stream.encode(frame))
        pts += size
    packets.extend(stream.encode(None))
    return packets


def make_clip(path: str | Path, *, seconds: float, fps: float | Fraction, size: tuple[int, int] = (320, 240),
              audio: bool = False, scene: str = "moving-square", container_options: dict | None = None) -> Path:
    """Encode a synthetic clip at ``path``; returns the path.

    The codec follows the suffix (``CODEC_BY_SUFFIX``): .mp4/.mkv/.mov H.264,
    .ts MPEG-2, .webm VP9, .avi MPEG-4 Part 2. The clip has ``round(seconds*fps)``
    frames with pts 0, 1, 2 ... in a 1/fps time base. ``container_options`` go to
    the muxer (e.g. ``{"movflags": "faststart"}`` puts an MP4's index first).
    """
    import av

    path = Path(path)
    encoder, options = CODEC_BY_SUFFIX[path.suffix.lower()]
    rate = Fraction(fps).limit_denominator(1001)
    n = max(1, int(round(seconds * float(rate))))
    with av.open(str(path), "w", options=dict(container_options or {})) as out:
        astream = _add_audio(out, path.suffix.lower()) if audio else None
        vstream = out.add_stream(encoder, rate=rate, options=dict(options))
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
        vstream.time_base = 1 / rate
        for i, rgb in enumerate(synthetic_frames(scene, n, size)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode(None):
            out.mux(packet)
        if astream is not None:
            for packet in _encode_audio(astream, seconds):
                out.mux(packet)
    return path


def make_audio_only(path: str | Path, *, seconds: float = 1.0) -> Path:
    """An audio-only file (AAC in .m4a/.mp4, MP2 in .ts, ...): not a video."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as out:
        stream = _add_audio(out, path.suffix.lower())
        for packet in _encode_audio(stream, seconds):
            out.mux(packet)
    return path


def _mpeg_crc32(data: bytes) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, no reflection, init 0xFFFFFFFF), as PSI sections use."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def make_unsupported_codec_clip(path: str | Path, *, seconds: float = 1.0) -> Path:
    """An MPEG-TS whose video elementary stream is declared as AVS2 (stream_type 0xD2).

    FFmpeg's TS demuxer maps 0xD2 to the AVS2 codec, for which PyAV's build has
    no decoder (it needs libdavs2), so the file opens and shows a video stream
    that cannot be decoded. Built by muxing a real MPEG-2 TS and rewriting the
    stream_type in every PMT section (with its CRC).
    """
    path = Path(path)
    make_clip(path, seconds=seconds, fps=10, size=(64, 48))
    data = bytearray(path.read_bytes())
    pmt_pid = None
    patched = 0
    for off in range(0, len(data) - 187, 188):
        pkt = data[off:off + 188]
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if not pkt[1] & 0x40:  # only packets that start a PSI section
            continue
        sec = 4 + 1 + pkt[4]  # skip pointer_field
        if pid == 0 and pmt_pid is None:  # PAT: first program's PMT pid
            pmt_pid = ((pkt[sec + 10] & 0x1F) << 8) | pkt[sec + 11]
        elif pid == pmt_pid and pkt[sec] == 0x02:
            length = ((pkt[sec + 1] & 0x0F) << 8) | pkt[sec + 2]
            info_len = ((pkt[sec + 10] & 0x0F) << 8) | pkt[sec + 11]
            es = sec + 12 + info_len
            end = sec + 3 + length - 4
            while es < end:
                if pkt[es] in (0x02, 0x1B):  # MPEG-2 / H.264 video
                    pkt[es] = 0xD2
                es += 5 + (((pkt[es + 3] & 0x0F) << 8) | pkt[es + 4])
            crc = _mpeg_crc32(bytes(pkt[sec:end]))
            pkt[end:end + 4] = crc.to_bytes(4, "big")
            data[off:off + 188] = pkt
            patched += 1
    if not patched:
        raise RuntimeError(f"no PMT found in {path}")
    path.write_bytes(bytes(data))
    return path


def make_codecless_clip(path: str | Path, *, seconds: float = 1.0) -> Path:
    """A Matroska file whose video track's CodecID is unknown ("V_VILA/NOPE").

    The demuxer still reports a video stream, with codec id "none".
    """
    path = Path(path)
    make_clip(path.with_suffix(".mkv"), seconds=seconds, fps=10, size=(64, 48))
    data = path.with_suffix(".mkv").read_bytes()
    old = b"V_MPEG4/ISO/AVC"
    if old not in data:
        raise RuntimeError(f"no H.264 CodecID in {path}")
    data = data.replace(old, b"V_VILA/NOPE/AVC")  # same length: EBML sizes stay valid
    if path.suffix.lower() != ".mkv":
        path.with_suffix(".mkv").unlink()
    path.write_bytes(data)
    return path


def _crc_ok() -> bool:
    """Self-check of the CRC routine against the CRC-32/MPEG-2 check value."""
    return _mpeg_crc32(b"123456789") == 0x0376E6E7


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    """A session-wide directory holding every clip in ``STANDARD_CLIPS``."""
    assert _crc_ok()
    root = tmp_path_factory.mktemp("clips")
    for name, kwargs in STANDARD_CLIPS.items():
        make_clip(root / name, **kwargs)
    return root
