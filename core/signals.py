"""Signal handling of every deployable: the first SIGTERM/SIGINT asks for a graceful stop, a second aborts.

``stop_event_on_signals()`` for asyncio processes (worker, dispatcher, summarizer); ``stop_on_signals()``
for threaded ones (ingest). Call either from the main thread.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Sequence

log = logging.getLogger("vila.signals")

def stop_event_on_signals(signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> asyncio.Event:
    """An event the running loop sets on the first of ``signals``; a second one restores the default handler.

    Must be called from the event loop's thread (the main thread for ``asyncio.run``).
    """
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if event.is_set():
            return
        log.info("received %s: shutting down", sig.name)
        event.set()
        for other in signals:  # a second signal gets the default behaviour (Ctrl-C twice aborts)
            loop.remove_signal_handler(other)

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)
    return event


def stop_on_signals() -> threading.Event:
    """An event set by the first SIGTERM/SIGINT; a second one aborts (default handlers restored)."""
    stop = threading.Event()

    def handler(signum, frame):
        log.info("received %s: stopping streams", signal.Signals(signum).name)
        stop.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
