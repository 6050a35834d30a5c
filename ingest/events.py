"""State-change reporting: builds ``StreamEvent``s and hands them to the caller's callback."""
from __future__ import annotations

import logging
import time
from typing import Callable

from core.types import StreamEvent, StreamState

log = logging.getLogger("ingest")


class EventReporter:
    """Emits StreamEvents for one stream; remembers the last state.

    A callback that raises is logged and ignored: a broken progress display must
    not stop ingest.
    """

    def __init__(self, stream_id: str, callback: Callable[[StreamEvent], None] | None,
                 source: str, kind: str) -> None:
        self.stream_id, self.callback = stream_id, callback
        self.extra = {"source": source, "kind": kind}
        self.state: StreamState | None = None

    def emit(self, state: StreamState, detail: str = "", attempt: int = 0, **extra: str) -> None:
        self.state = state
        log.info("ingest %s: %s %s%s", self.stream_id, state.value, detail,
                 f" (attempt {attempt})" if attempt else "")
        if self.callback is None:
            return
        event = StreamEvent(stream_id=self.stream_id, state=state, time_unix=time.time(), detail=detail,
                            attempt=attempt, extra={**self.extra, **{k: str(v) for k, v in extra.items()}})
        try:
            self.callback(event)
        except Exception:  # noqa: BLE001 - see class docstring
            log.exception("on_event callback failed for %s", self.stream_id)
