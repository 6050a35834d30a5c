"""``InferenceEngine``: the worker's core, with no sockets: requests in domain types, answers out.

Each operation validates its request (``InvalidRequest`` naming the problem), decodes and samples the
window's JPEG frames off the event loop (``tier.frames_per_window``, spread evenly over the window), then
submits the job to the ``Batcher`` under a key that only compatible jobs share:

=================  ====================================================  ===============================
operation          key (jobs with equal keys share one model call)        model call
=================  ====================================================  ===============================
caption            ("caption", prompt, max_new_tokens, labels)            caption (+ score_labels)
recognize_actions  ("actions", labels, question)                          score_labels
ask                ("ask", max_new_tokens)                                ask (one question per window)
summarize_text     ("text", max_new_tokens)                               generate_text
=================  ====================================================  ===============================

Limits (``InvalidRequest``: INVALID_ARGUMENT over gRPC): a window needs 1..``limits.max_frames`` frames,
each sampled one a decodable JPEG; ``max_new_tokens`` at most ``MAX_NEW_TOKENS_LIMIT`` (0 = the default
budget); at most ``MAX_LABELS`` labels, none blank; a non-blank question / text. The model itself refuses a
prompt longer than its context (InvalidRequest for that window alone: the batcher reruns its batch-mates).

Both modes run this class: the worker behind gRPC (``workers.server.servicer`` only converts protobuf and
maps errors) and ``vila-stream analyze`` in-process (``workers.engine.local.LocalEngine``). A window the
model cannot analyse is refused with ``InvalidRequest`` in both; ``failed_result`` is what local mode keeps
for it (the cluster dead-letters the record with the same reason). ``window_result`` is the one place a
``WindowResult`` is built.
"""
from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from PIL import Image

from core.errors import InvalidRequest
from core.prompts import SUMMARY_INSTRUCTION
from core.types import ActionScore, Frame, FrameWindow, WindowResult
from workers.engine.batcher import Batched, Batcher
from workers.engine.frames import decode_sampled
from workers.engine.limits import MAX_NEW_TOKENS_LIMIT, EngineLimits
from workers.runtime import ModelInfo, VilaModel
from workers.tiers import TierProfile

#: Candidate labels one request may ask to score (each label costs a pass over the answer tokens).
MAX_LABELS = 64


@dataclass(frozen=True)
class WindowJob:
    """A window and its decoded, sampled frames."""

    window: FrameWindow
    frames: list[Image.Image]


def _run_caption(model: VilaModel, key: tuple, jobs: Sequence[WindowJob]) -> list[tuple[str, tuple]]:
    _, prompt, max_new_tokens, labels = key
    clips = [job.frames for job in jobs]
    captions = model.caption(clips, prompt=prompt or None, max_new_tokens=max_new_tokens)
    scores = model.score_labels(clips, list(labels)) if labels else [[] for _ in clips]
    return [(caption, tuple(actions)) for caption, actions in zip(captions, scores)]


def _run_actions(model: VilaModel, key: tuple, jobs: Sequence[WindowJob]) -> list[list[ActionScore]]:
    _, labels, question = key
    return model.score_labels([job.frames for job in jobs], list(labels), question=question or None)


def _run_ask(model: VilaModel, key: tuple, jobs: Sequence[tuple[WindowJob, str]]) -> list[str]:
    return model.ask([job.frames for job, _ in jobs], [q for _, q in jobs], max_new_tokens=key[1])


def _run_text(model: VilaModel, key: tuple, prompts: Sequence[str]) -> list[str]:
    return model.generate_text(list(prompts), max_new_tokens=key[1])


#: Operation name (a key's first element) -> the model call for a batch of its jobs.
OPERATIONS: dict[str, Callable[[VilaModel, tuple, Sequence], list]] = {
    "caption": _run_caption, "actions": _run_actions, "ask": _run_ask, "text": _run_text,
}


def warmup_window(frames: int, size: tuple[int, int] = (64, 48)) -> FrameWindow:
    """A synthetic window of ``frames`` JPEG frames (a bar sweeping across a gradient) for the warm-up pass."""
    encoded = []
    for i in range(frames):
        image = Image.linear_gradient("L").resize(size).convert("RGB")
        x = (i * size[0]) // max(1, frames)
        image.paste((220, 60, 40), (x, 0, min(size[0], x + 8), size[1]))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
        encoded.append(Frame(jpeg=buffer.getvalue(), pts=i * 0.5, width=size[0], height=size[1]))
    return FrameWindow(stream_id="warmup", window_id="warmup:0", seq=0, start=0.0, end=frames * 0.5,
                       frames=tuple(encoded))


class InferenceEngine:
    """Validated, batched model operations (see the module docstring). Create, ``start()``, use, ``close()``.

    ``model_executor`` must run one thing at a time (the model is not thread-safe); ``decode_executor``
    decodes JPEGs so the event loop never does.
    """

    def __init__(self, model: VilaModel, tier: TierProfile, limits: EngineLimits, *,
                 model_executor: Executor, decode_executor: Executor) -> None:
        self.model = model
        self.tier = tier
        self.limits = limits
        self._decode_executor = decode_executor
        self.batcher = Batcher(self._run, model_executor, max_batch_size=tier.max_batch_size,
                               max_wait_s=tier.max_wait_ms / 1000.0, max_queue=limits.max_queue,
                               name=f"worker-{tier.name}")

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    def start(self) -> None:
        self.batcher.start()

    async def close(self) -> None:
        """Answer every queued request, then stop the batcher."""
        await self.batcher.close()

    async def warmup(self) -> None:
        """One real forward pass (caption + a label score) on a synthetic window, through the batcher."""
        await self.caption(warmup_window(self.tier.frames_per_window), labels=("something moving",))

    # ------------------------------------------------------------------ operations
    async def caption(self, window: FrameWindow, *, prompt: str = "", labels: Sequence[str] = (),
                      max_new_tokens: int = 0) -> Batched[WindowResult]:
        """The window's caption (and label scores when ``labels`` is not empty) as a ``WindowResult``.

        ``latency_ms`` is the model time of the batch the window rode in.
        """
        labels = _check_labels(labels, required=False)
        budget = _budget(max_new_tokens, self.tier.max_new_tokens)
        job = await self._window_job(window)
        return await self._caption_job(job, ("caption", prompt.strip(), budget, labels))

    async def caption_many(self, windows: Sequence[FrameWindow], *, labels: Sequence[str] = (),
                           max_new_tokens: int = 0) -> list[Batched[WindowResult] | InvalidRequest]:
        """``caption`` for several windows at once, in order: all are queued together, so they share model
        calls (up to the tier's batch size) without waiting for batch-mates. A window the engine or the model
        refuses gets its ``InvalidRequest`` in its place; other errors propagate."""
        labels = _check_labels(labels, required=False)
        key = ("caption", "", _budget(max_new_tokens, self.tier.max_new_tokens), labels)
        jobs = await asyncio.gather(*(self._window_job(w) for w in windows), return_exceptions=True)
        # Jobs are queued before the batcher's task runs again: one step of the loop, one batch.
        done = await asyncio.gather(*(self._caption_job(job, key) if isinstance(job, WindowJob) else _raise(job)
                                      for job in jobs), return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException) and not isinstance(outcome, InvalidRequest):
                raise outcome
        return done

    def window_result(self, window: FrameWindow, *, caption: str = "", actions: tuple = (),
                      latency_ms: float = 0.0, error: str = "") -> WindowResult:
        """The result of ``window`` as this engine's tier and model analysed it (the one place one is built)."""
        return WindowResult(
            stream_id=window.stream_id, window_id=window.window_id, seq=window.seq, start=window.start,
            end=window.end, caption=caption, actions=actions, activity=window.activity, tier=self.tier.name,
            model_id=self.info.model_id, latency_ms=latency_ms, error=error,
            thumbnail_jpeg=window.frames[len(window.frames) // 2].jpeg if window.frames else b"",
        )

    def failed_result(self, window: FrameWindow, error: InvalidRequest) -> WindowResult:
        """What local mode keeps of a window the engine refused: no caption, ``error`` = "reason: message"."""
        return self.window_result(window, error=f"{error.reason}: {error}")

    async def recognize_actions(self, window: FrameWindow, labels: Sequence[str],
                                question: str = "") -> Batched[list[ActionScore]]:
        """Every label's probability for the window, best first."""
        labels = _check_labels(labels, required=True)
        job = await self._window_job(window)
        return await self.batcher.submit(("actions", labels, question.strip()), job)

    async def ask(self, window: FrameWindow, question: str, max_new_tokens: int = 0) -> Batched[str]:
        """The model's answer to ``question`` about the window."""
        if not question.strip():
            raise InvalidRequest("question is empty")
        budget = _budget(max_new_tokens, self.tier.max_new_tokens)
        job = await self._window_job(window)
        return await self.batcher.submit(("ask", budget), (job, question.strip()))

    async def summarize_text(self, text: str, instruction: str = "", max_new_tokens: int = 0) -> Batched[str]:
        """``instruction`` (default: the timeline summary instruction) + newline + ``text``, answered by the model."""
        if not text.strip():
            raise InvalidRequest("text is empty: nothing to summarize")
        budget = _budget(max_new_tokens, self.limits.summary_max_new_tokens)
        prompt = (instruction.strip() or SUMMARY_INSTRUCTION) + "\n" + text.strip()
        return await self.batcher.submit(("text", budget), prompt)

    # ------------------------------------------------------------------ internals
    def _run(self, key: Hashable, items: Sequence) -> list:
        return OPERATIONS[key[0]](self.model, key, items)

    async def _caption_job(self, job: WindowJob, key: tuple) -> Batched[WindowResult]:
        done = await self.batcher.submit(key, job)
        caption, actions = done.value
        result = self.window_result(job.window, caption=caption, actions=actions, latency_ms=done.run_ms)
        return Batched(result, done.batch_size, done.run_ms)

    async def _window_job(self, window: FrameWindow) -> WindowJob:
        count = len(window.frames)
        if count == 0:
            raise InvalidRequest("window has no frames")
        if count > self.limits.max_frames:
            raise InvalidRequest(f"window has {count} frames; at most {self.limits.max_frames} are accepted "
                                 f"(max_frames)")
        self.batcher.ensure_room()  # refuse before decoding when the model is already behind
        loop = asyncio.get_running_loop()
        frames = await loop.run_in_executor(self._decode_executor, decode_sampled, window,
                                            self.tier.frames_per_window)
        return WindowJob(window, frames)


async def _raise(error: BaseException):
    raise error


def _budget(requested: int, default: int) -> int:
    if requested < 0 or requested > MAX_NEW_TOKENS_LIMIT:
        raise InvalidRequest(f"max_new_tokens must be in 0..{MAX_NEW_TOKENS_LIMIT} (0 = default), got {requested}")
    return requested or default


def _check_labels(labels: Sequence[str], *, required: bool) -> tuple[str, ...]:
    cleaned = tuple(label.strip() for label in labels)
    if required and not cleaned:
        raise InvalidRequest("labels is empty: give at least one candidate label")
    if len(cleaned) > MAX_LABELS:
        raise InvalidRequest(f"{len(cleaned)} labels; at most {MAX_LABELS} are accepted")
    if any(not label for label in cleaned):
        raise InvalidRequest(f"label {cleaned.index('')} is blank")
    return cleaned

