"""``EngineLimits``: what one ``InferenceEngine`` accepts, the same in the worker and in ``analyze``.

One frame limit for both modes (a window with more frames is refused with InvalidRequest before any
frame is decoded): ``MAX_FRAMES_PER_WINDOW``, the most frames per video a VILA release takes (LongVILA).
The engine decodes only the ``frames_per_window`` it samples, so a long window costs little more than
its message; an operator lowers the limit with the worker's ``max_frames`` setting.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInput

#: Frames accepted in one window before sampling (more: InvalidRequest, INVALID_ARGUMENT over gRPC).
MAX_FRAMES_PER_WINDOW = 1024
#: Upper bound of a request's ``max_new_tokens`` (more: InvalidRequest).
MAX_NEW_TOKENS_LIMIT = 1024


@dataclass(frozen=True)
class EngineLimits:
    """max_frames: frames per window before sampling (>= 1); max_queue: requests waiting for the model (>= 1;
    one more is Overloaded); summary_max_new_tokens: default budget of ``summarize_text`` (1..limit)."""

    max_frames: int = MAX_FRAMES_PER_WINDOW
    max_queue: int = 64
    summary_max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if self.max_frames < 1 or self.max_queue < 1:
            raise InvalidInput(f"engine limits: max_frames and max_queue must be >= 1, got {self}")
        if not 1 <= self.summary_max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            raise InvalidInput(f"engine limits: summary_max_new_tokens must be in 1..{MAX_NEW_TOKENS_LIMIT}")
