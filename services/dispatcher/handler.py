"""One window record to one outcome: decode, route, infer, maybe escalate.

``WindowHandler.handle(value)`` never raises for a bad record or a failed window: it returns
``Publish`` (the result to send to ``vila.results.v1``) or ``DeadLetter`` (the reason and the
stage, for ``vila.windows.dlq.v1``). The worker call is injected (``CaptionFn``), so the policy
here is unit-tested without sockets; ``pool.WorkerPool.caption`` is the real one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from core.errors import UndecodableRecord
from core.types import FrameWindow, WindowResult
from services.dispatcher.escalation import EscalationRule
from services.dispatcher.pool import WorkerCallFailed
from services.dispatcher.routing import TierRouter
from core.transport.kafka import decode_window

log = logging.getLogger("vila.dispatcher")

CaptionFn = Callable[[str, FrameWindow], Awaitable[WindowResult]]


@dataclass(frozen=True)
class Publish:
    result: WindowResult
    escalated: str = ""  # why the window went on to the cloud tier, if it did


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    stage: str  # "decode" or "infer"
    stream_id: str = ""


Outcome = Publish | DeadLetter


class WindowHandler:
    def __init__(self, caption: CaptionFn, router: TierRouter, rule: EscalationRule) -> None:
        self.caption, self.router, self.rule = caption, router, rule

    async def handle(self, value: bytes | None) -> Outcome:
        try:
            window = decode_window(value)
        except UndecodableRecord as exc:
            return DeadLetter(f"{exc.reason}: {exc}", "decode")
        tier = self.router.tier_for(window.stream_id)
        try:
            result = await self.caption(tier, window)
        except WorkerCallFailed as exc:
            return DeadLetter(f"worker-{exc.code.name.lower().replace('_', '-')}: {exc}", "infer", window.stream_id)
        if tier != "edge" or not self.rule:
            return Publish(result)
        why = self.rule.match(result)
        if why is None:
            return Publish(result)
        try:
            return Publish(await self.caption("cloud", window), escalated=why)
        except WorkerCallFailed as exc:
            log.warning("window %s: escalation to cloud failed (%s); publishing the edge result",
                        window.window_id, exc)
            return Publish(result)
