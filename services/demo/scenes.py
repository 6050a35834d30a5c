"""Synthetic scenes made here, for benchmarks and tests: a square moving across a textured background.

``synthetic_frames`` draws the RGB frames (numpy) and ``make_clip`` encodes them with PyAV, the codec
following the file's suffix (``CODEC_BY_SUFFIX``), optionally with an audio tone as stream 0 (before
the video stream, so readers must pick the video stream explicitly). ``scene_frames`` draws small PIL
frames of a coloured square for model-level work (no codec). Everything is deterministic.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

# suffix -> (encoder, extra encoder options). Formats are inferred by FFmpeg from the suffix.
CODEC_BY_SUFFIX: dict[str, tuple[str, dict[str, str]]] = {
    ".mp4": ("libx264", {"preset": "ultrafast", "g": "15", "bf": "2"}),
    ".mkv": ("libx264", {"preset": "ultrafast", "g": "15"}),
    ".mov": ("libx264", {"preset": "ultrafast", "g": "15"}),
    ".ts": ("mpeg2video", {"g": "15"}),
    # VP9 defaults to a slow "good" deadline; realtime keeps generation fast.
    ".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "g": "15"}),
    ".avi": ("mpeg4", {"g": "15"}),
}
AUDIO_BY_SUFFIX = {".webm": "libopus", ".avi": "mp2", ".ts": "mp2"}
SCENES = ("moving-square", "brightness-ramp", "static")
_COLOURS = [(200, 40, 40), (40, 160, 60), (40, 70, 200), (220, 200, 40), (150, 60, 170), (240, 140, 30)]


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
    ValueError for another name.
    """
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}")
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
        frames.append(f)
    return frames


def add_audio_stream(container: av.container.OutputContainer, suffix: str) -> av.AudioStream:
    """A 48 kHz stereo audio stream in ``container``, with the codec that suits the file ``suffix``."""
    stream = container.add_stream(AUDIO_BY_SUFFIX.get(suffix, "aac"), rate=48000)
    stream.layout = "stereo"
    return stream


def encode_tone(stream: av.AudioStream, seconds: float) -> list[av.Packet]:
    """``seconds`` of a 440 Hz tone encoded for ``stream`` (flushed), as packets to mux."""
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
    """Encode a synthetic clip (``synthetic_frames(scene, ...)``) at ``path``; returns the path.

    The codec follows the suffix (``CODEC_BY_SUFFIX``): .mp4/.mkv/.mov H.264,
    .ts MPEG-2, .webm VP9, .avi MPEG-4 Part 2. The clip has ``round(seconds*fps)``
    frames with pts 0, 1, 2 ... in a 1/fps time base. ``container_options`` go to
    the muxer (e.g. ``{"movflags": "faststart"}`` puts an MP4's index first).
    KeyError for another suffix, ValueError for an unknown scene.
    """
    path = Path(path)
    encoder, options = CODEC_BY_SUFFIX[path.suffix.lower()]
    rate = Fraction(fps).limit_denominator(1001)
    n = max(1, int(round(seconds * float(rate))))
    frames = synthetic_frames(scene, n, size)
    with av.open(str(path), "w", options=dict(container_options or {})) as out:
        astream = add_audio_stream(out, path.suffix.lower()) if audio else None
        vstream = out.add_stream(encoder, rate=rate, options=dict(options))
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
        vstream.time_base = 1 / rate
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode(None):
            out.mux(packet)
        if astream is not None:
            for packet in encode_tone(astream, seconds):
                out.mux(packet)
    return path


def scene_frames(count: int, *, seed: int = 0, size: tuple[int, int] = (96, 72)) -> list[Image.Image]:
    """``count`` RGB frames of a square moving left to right; ``seed`` picks colours, size and start."""
    width, height = size
    background = _COLOURS[seed % len(_COLOURS)]
    colour = _COLOURS[(seed * 7 + 3) % len(_COLOURS)]
    side = 12 + (seed * 5) % 20
    frames = []
    for i in range(count):
        image = Image.new("RGB", size, tuple(c // 3 for c in background))
        x = (seed * 11 + i * 9) % max(1, width - side)
        y = (seed * 13) % max(1, height - side)
        ImageDraw.Draw(image).rectangle([x, y, x + side, y + side], fill=colour)
        frames.append(image)
    return frames
