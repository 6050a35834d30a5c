"""Synthetic video clips for tests, encoded with PyAV (no external tools).

Helpers:
    make_clip(path, seconds=, fps=, size=, audio=, scene=)  -> Path
        Encode a synthetic clip; container and codec follow the suffix
        (see ``CODEC_BY_SUFFIX``). ``audio=True`` adds an audio track as
        stream 0, *before* the video stream, so readers must select the
        video stream explicitly. (``services.demo.scenes``, shared with
        the benchmarks; so is ``synthetic_frames``.)
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

from pathlib import Path

import av
import pytest

from services.demo.scenes import CODEC_BY_SUFFIX, add_audio_stream, encode_tone, make_clip, synthetic_frames

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


def make_audio_only(path: str | Path, *, seconds: float = 1.0) -> Path:
    """An audio-only file (AAC in .m4a/.mp4, MP2 in .ts, ...): not a video."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        stream = add_audio_stream(out, path.suffix.lower())
        for packet in encode_tone(stream, seconds):
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
