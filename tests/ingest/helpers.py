"""Small assertions shared by the ingest tests."""
from __future__ import annotations

import io

from PIL import Image

from core.types import FrameWindow


def assert_covers(windows: list[FrameWindow], duration: float, window_s: float, stride_s: float | None = None,
                  tol: float = 1e-6, end_tol: float = 1e-6) -> None:
    """Windows are [k*S, k*S+W), seq 0..n-1, contiguous/overlapping, the last one ends at ``duration``.

    ``end_tol``: when the stream's end lies less than a frame past a window boundary,
    no frame starts in that sliver, so no window is built for it; pass the frame
    duration to allow that.
    """
    stride = stride_s or window_s
    assert windows, "no windows"
    for k, w in enumerate(windows):
        assert w.seq == k
        assert abs(w.start - k * stride) < tol, (k, w.start)
        full = abs(w.end - (w.start + window_s)) < tol
        assert full or w.partial, f"window {k} [{w.start}, {w.end}) is short but not partial"
        assert w.frames, f"window {k} has no frames"
        assert all(w.start - tol <= f.pts < w.end for f in w.frames), (k, [f.pts for f in w.frames])
        assert [f.pts for f in w.frames] == sorted({f.pts for f in w.frames})
    for a, b in zip(windows, windows[1:]):
        assert b.start <= a.end + tol, "gap between windows"
        assert not a.partial, "only the last window may be partial"
    assert -tol <= duration - windows[-1].end <= max(tol, end_tol), (windows[-1].end, duration)
    # the last window is the first to reach the end: no trailing window repeats a tail
    if len(windows) > 1:
        assert windows[-2].start + window_s < windows[-1].end - tol


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size
