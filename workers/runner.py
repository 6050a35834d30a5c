"""``WindowRunner``: FrameWindows in, WindowResults out, through one loaded model.

For each window: decode the JPEG frames, sample ``tier.frames_per_window`` of
them uniformly, then caption and score the action labels in batches of
``tier.max_batch_size``. A window that cannot be used (no frames, a frame that
is not a decodable JPEG, more positions than the model holds) gets a result
with ``error`` set ("invalid-request: ...") and the others still run. Only the
sampled frames are decoded. Other errors from the model propagate.
"""
from __future__ import annotations

import io
import time
from typing import Sequence

from PIL import Image

from core.errors import InvalidRequest
from core.labels import DEFAULT_ACTION_LABELS  # noqa: F401 (re-exported: the runner's default)
from core.types import FrameWindow, WindowResult
from workers.runtime import VilaModel
from workers.tiers import TierProfile

MAX_FRAMES_PER_WINDOW = 1024


def sample_indices(count: int, wanted: int) -> list[int]:
    """``wanted`` indices spread evenly over ``range(count)`` (round(linspace)); all of them if count <= wanted."""
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [count // 2]
    return [round(i * (count - 1) / (wanted - 1)) for i in range(wanted)]


def decode_frames(window: FrameWindow, wanted: int) -> list[Image.Image]:
    """The sampled frames of ``window`` as RGB images; InvalidRequest naming the bad frame."""
    if not window.frames:
        raise InvalidRequest("window has no frames")
    if len(window.frames) > MAX_FRAMES_PER_WINDOW:
        raise InvalidRequest(f"window has {len(window.frames)} frames; at most {MAX_FRAMES_PER_WINDOW} are accepted")
    images = []
    for index in sample_indices(len(window.frames), wanted):
        try:
            with Image.open(io.BytesIO(window.frames[index].jpeg)) as image:
                images.append(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise InvalidRequest(f"frame {index} is not a decodable JPEG") from None
    return images


class WindowRunner:
    """Runs windows through ``model`` as ``tier`` says, scoring ``labels`` (see the module docstring)."""

    def __init__(self, model: VilaModel, tier: TierProfile, labels: Sequence[str] = DEFAULT_ACTION_LABELS) -> None:
        if not labels:
            raise ValueError("WindowRunner needs at least one action label")
        self.model = model
        self.tier = tier
        self.labels = tuple(labels)

    def run(self, windows: Sequence[FrameWindow]) -> list[WindowResult]:
        """One result per window, in order. ``latency_ms`` is the wall time of the window's batch."""
        results: list[WindowResult | None] = [None] * len(windows)
        ready: list[tuple[int, list[Image.Image]]] = []
        for i, window in enumerate(windows):
            try:
                ready.append((i, decode_frames(window, self.tier.frames_per_window)))
            except InvalidRequest as exc:
                results[i] = self._result(window, error=f"{exc.reason}: {exc}")
        size = self.tier.max_batch_size
        for start in range(0, len(ready), size):
            chunk = ready[start:start + size]
            try:
                self._run_batch(windows, chunk, results)
            except InvalidRequest:
                # One window the model refuses (e.g. too long a prompt) must not sink its batch-mates.
                for item in chunk:
                    try:
                        self._run_batch(windows, [item], results)
                    except InvalidRequest as exc:
                        results[item[0]] = self._result(windows[item[0]], error=f"{exc.reason}: {exc}")
        return [r for r in results if r is not None]

    def _run_batch(self, windows: Sequence[FrameWindow], chunk: list[tuple[int, list[Image.Image]]],
                   results: list[WindowResult | None]) -> None:
        clips = [frames for _, frames in chunk]
        began = time.perf_counter()
        captions = self.model.caption(clips, max_new_tokens=self.tier.max_new_tokens)
        scores = self.model.score_labels(clips, self.labels)
        latency = (time.perf_counter() - began) * 1000.0
        for (i, _), caption, actions in zip(chunk, captions, scores):
            results[i] = self._result(windows[i], caption=caption, actions=tuple(actions), latency_ms=latency)

    def _result(self, window: FrameWindow, *, caption: str = "", actions: tuple = (), latency_ms: float = 0.0,
                error: str = "") -> WindowResult:
        middle = window.frames[len(window.frames) // 2].jpeg if window.frames else b""
        return WindowResult(
            stream_id=window.stream_id, window_id=window.window_id, seq=window.seq, start=window.start,
            end=window.end, caption=caption, actions=actions, activity=window.activity, tier=self.tier.name,
            model_id=self.model.info.model_id, latency_ms=latency_ms, error=error, thumbnail_jpeg=middle,
        )
