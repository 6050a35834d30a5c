"""One window record to one outcome: decode, route, infer, maybe escalate.

``WindowHandler.handle(value)`` never raises for a bad record or a failed window: it returns
``Publish`` (the result to send to ``vila.results.v1``) or ``DeadLetter`` (the reason and the
stage, for ``vila.windows.dlq.v1``). Reasons are ``core.errors.describe`` of the error: the same
"reason: message" a refused window gets in local mode ("invalid-request: frame 3 is not a decodable
JPEG (worker host:port, 1 attempt)"). An unexpected exception (a bug here or in the worker client) is
tried again ``internal_retries`` times, then dead-lettered as ``internal`` so that one record cannot
stop the stream. The worker call is injected (``CaptionFn``), so the policy here is unit-tested
without sockets; ``pool.WorkerPool.caption`` is the real one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from core.errors import UndecodableRecord, WorkerCallFailed, describe
from core.tiers import escalation_target
from core.transport.kafka import decode_window
from core.types import FrameWindow, WindowResult
from services.dispatcher.escalation import EscalationRule
from services.dispatcher.routing import TierRouter

log = logging.getLogger("vila.dispatcher")

CaptionFn = Callable[[str, FrameWindow], Awaitable[WindowResult]]


@dataclass(frozen=True)
class Publish:
    result: WindowResult
    escalated: str = ""  # why the window went on to the next tier, if it did


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    stage: str  # "decode" or "infer"
    stream_id: str = ""


Outcome = Publish | DeadLetter


class WindowHandler:
    def __init__(self, caption: CaptionFn, router: TierRouter, rule: EscalationRule, *,
                 internal_retries: int = 2) -> None:
        self.caption, self.router, self.rule = caption, router, rule
        self.internal_retries = internal_retries

    async def handle(self, value: bytes | None) -> Outcome:
        try:
            window = decode_window(value)
        except UndecodableRecord as exc:
            return DeadLetter(describe(exc), "decode")
        tier = self.router.tier_for(window.stream_id)
        try:
            result = await self._infer(tier, window)
        except Exception as exc:  # noqa: BLE001 - typed or not, the record goes to the DLQ, the stream goes on
            return DeadLetter(describe(exc), "infer", window.stream_id)
        target = escalation_target(tier)
        if target is None or not self.rule:
            return Publish(result)
        why = self.rule.match(result)
        if why is None:
            return Publish(result)
        try:
            return Publish(await self._infer(target, window), escalated=why)
        except Exception as exc:  # noqa: BLE001 - the lower tier's answer still stands
            log.warning("window %s: escalation to %s failed (%s); publishing the %s result",
                        window.window_id, target, describe(exc), tier)
            return Publish(result)

    async def _infer(self, tier: str, window: FrameWindow) -> WindowResult:
        """The worker call, with ``internal_retries`` more tries after an unexpected exception."""
        tries = 0
        while True:
            tries += 1
            try:
                return await self.caption(tier, window)
            except WorkerCallFailed:
                raise  # the pool already retried what can be retried
            except Exception:
                if tries > self.internal_retries:
                    raise
                log.exception("window %s: unexpected error on try %d of %d", window.window_id, tries,
                              self.internal_retries + 1)
