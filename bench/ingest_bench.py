"""Ingest throughput against plain FFmpeg decoding of the same file, in the same run.

    python -m bench.ingest_bench [FILE ...] [--repeat 3] [--no-shared] [--seconds 20] [--size 1280x720]

For each file (a generated H.264 clip by default, plus ../shared/videos/*.mp4|mkv
when present, plus any FILE given) it measures, best of ``--repeat`` runs:

  ffmpeg   ``ffmpeg -benchmark -i FILE -map 0:v:0 -f null -``: decode only, the baseline
           (its own rtime, so process start-up is not counted against it)
  pyav     PyAV demux + decode of the video stream, nothing else
  ingest   ``ingest.iter_windows`` with the default IngestConfig (decode, pick 8
           frames per 8 s window, resize to 448 px, JPEG, activity)

and prints decoded frames per second, windows per second and ingest/ffmpeg.
Not a test: numbers depend on the machine, which is printed with them.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

import ingest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "videos"


def machine() -> str:
    model = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, PyAV {av.__version__}"


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def ffmpeg_decode(path: Path) -> float:
    """Seconds ffmpeg spent decoding (its own ``-benchmark`` rtime: process start-up excluded,
    which would otherwise dominate short clips)."""
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-benchmark", "-i", str(path),
                          "-map", "0:v:0", "-f", "null", "-"], check=True, capture_output=True, text=True)
    match = re.search(r"rtime=([0-9.]+)s", out.stderr)
    if not match:
        raise RuntimeError(f"no -benchmark line from ffmpeg for {path}")
    return float(match.group(1))


def pyav_decode(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def ingest_run(path: Path, config: ingest.IngestConfig) -> int:
    return sum(1 for _ in ingest.iter_windows(str(path), "bench", config))


def generated_clip(root: Path, seconds: float, size: tuple[int, int]) -> Path:
    from services.demo.scenes import make_clip  # the moving square the tests use too

    return make_clip(root / f"generated-{size[0]}x{size[1]}.mp4", seconds=seconds, fps=30, size=size)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-shared", action="store_true", help="skip ../shared/videos")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the generated clip")
    ap.add_argument("--size", default="1280x720", help="size of the generated clip")
    args = ap.parse_args(argv)
    have_ffmpeg = shutil.which("ffmpeg") is not None

    config = ingest.IngestConfig()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        width, height = (int(v) for v in args.size.split("x"))
        files = [generated_clip(Path(tmp), args.seconds, (width, height)), *args.files]
        if not args.no_shared and SHARED.is_dir():
            files += sorted(p for p in SHARED.iterdir() if p.suffix in (".mp4", ".mkv"))
        for path in files:
            info = ingest.probe(str(path))
            ff_s = min(ffmpeg_decode(path) for _ in range(args.repeat)) if have_ffmpeg else float("nan")
            av_s, frames = best_of(args.repeat, lambda: pyav_decode(path))
            in_s, windows = best_of(args.repeat, lambda: ingest_run(path, config))
            rows.append((path.name, f"{info.width}x{info.height}", info.codec, frames, info.duration or 0.0,
                         ff_s, av_s, in_s, windows))

    print(f"machine: {machine()}")
    if have_ffmpeg:
        version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
        print(f"baseline: {version.split(' Copyright')[0]} (system binary; PyAV bundles its own FFmpeg "
              f"{'.'.join(map(str, av.library_versions['libavcodec']))} libavcodec)")
    print(f"ingest config: window {config.window_seconds:g} s, {config.frames_per_window} frames/window, "
          f"max side {config.max_side}, JPEG q{config.jpeg_quality}; best of {args.repeat}")
    header = (f"{'clip':<26} {'size':>9} {'codec':>5} {'frames':>6} {'dur s':>6} | {'ffmpeg fps':>10} "
              f"{'pyav fps':>9} {'ingest fps':>10} {'windows/s':>9} | {'ingest/ffmpeg':>13} {'x realtime':>10}")
    print(header)
    print("-" * len(header))
    for name, size, codec, frames, duration, ff_s, av_s, in_s, windows in rows:
        ratio = ff_s / in_s if ff_s == ff_s else float("nan")  # nan-safe: no ffmpeg, no ratio
        print(f"{name[:26]:<26} {size:>9} {codec[:5]:>5} {frames:>6} {duration:>6.1f} | {frames / ff_s:>10.0f} "
              f"{frames / av_s:>9.0f} {frames / in_s:>10.0f} {windows / in_s:>9.1f} | {ratio:>13.2f} "
              f"{duration / in_s:>10.0f}")
    print("ingest/ffmpeg: ingest throughput as a fraction of ffmpeg's decode-only throughput (1.00 = as fast); "
          "ingest and pyav times include opening the file, ffmpeg's do not.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
