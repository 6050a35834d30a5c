"""``LocalEngine``: the ``InferenceEngine`` run in-process, for ``vila-stream analyze`` (and benchmarks, tests).

The engine is asyncio; local mode is threads (an ingest thread feeding a bounded queue). ``LocalEngine``
owns an event loop on a thread of its own and a one-thread model executor, and offers one synchronous
call: ``run(windows) -> results``, a result per window in order (and ``generate(prompts)`` for a model-written
summary). Nothing waits for batch-mates
(``max_wait_ms`` 0): the windows handed over together are the batch, cut into model calls of the tier's
``max_batch_size``. A window the engine refuses (``InvalidRequest``) gets ``engine.failed_result``; other
errors propagate to the caller. Use as a context manager, or ``close()`` when done.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from core.errors import InvalidRequest
from core.labels import DEFAULT_ACTION_LABELS
from core.types import FrameWindow, WindowResult
from workers.engine.engine import InferenceEngine
from workers.engine.limits import EngineLimits
from workers.runtime import VilaModel
from workers.tiers import TierProfile


class LocalEngine:
    """An in-process engine for ``model`` and ``tier`` that scores ``labels`` on every window."""

    def __init__(self, model: VilaModel, tier: TierProfile, labels: Sequence[str] = DEFAULT_ACTION_LABELS, *,
                 limits: EngineLimits | None = None) -> None:
        self.labels = tuple(labels)
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vila-model")
        self._decode_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vila-decode")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vila-engine", daemon=True)
        self._thread.start()
        self.engine = InferenceEngine(model, replace(tier, max_wait_ms=0), limits or EngineLimits(),
                                      model_executor=self._model_thread, decode_executor=self._decode_threads)
        self._call(self._start())

    def run(self, windows: Sequence[FrameWindow]) -> list[WindowResult]:
        """One result per window, in order (see the module docstring)."""
        outcomes = self._call(self._caption(list(windows)))
        return [self.engine.failed_result(w, o) if isinstance(o, InvalidRequest) else o.value
                for w, o in zip(windows, outcomes)]

    def generate(self, prompts: Sequence[str]) -> list[str]:
        """The model's text for each prompt, through the engine's ``summarize_text`` (what a worker's
        ``SummarizeText`` runs): a prompt is its instruction, a newline, then the text (``timeline_prompt``)."""
        return self._call(self._generate(list(prompts)))

    def close(self) -> None:
        """Answer whatever is queued, then stop the loop and the threads."""
        if self._loop.is_closed():
            return
        self._call(self.engine.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._model_thread.shutdown()
        self._decode_threads.shutdown()

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def _start(self) -> None:
        self.engine.start()

    async def _caption(self, windows: list[FrameWindow]):
        # At most max_queue at a time, so that local mode never meets a full queue.
        room, outcomes = self.engine.limits.max_queue, []
        for start in range(0, len(windows), room):
            outcomes += await self.engine.caption_many(windows[start:start + room], labels=self.labels)
        return outcomes

    async def _generate(self, prompts: list[str]) -> list[str]:
        texts = []
        for prompt in prompts:
            instruction, _, text = prompt.partition("\n")
            texts.append((await self.engine.summarize_text(text, instruction)).value)
        return texts

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
