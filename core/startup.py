"""The one start-up of every deployable's ``main()``: logging, settings, the run, one-line errors.

    def main(argv=None) -> int:
        return run_main("vila-worker", parse_settings, serve, argv)

``run_main`` configures logging (kafka-python's chatter off), parses the settings (a bad flag or value:
one line naming it, exit 2), runs ``run(settings)`` (a coroutine runs under ``asyncio.run``; the run
installs its signal handling from ``core.signals`` and reads as its list of start steps), and turns a
typed error into one line and its exit code. Anything else is a bug: its traceback in the log, one line
on stderr, exit 1.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core.errors import VilaError, describe

S = TypeVar("S")

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def run_main(name: str, parse: Callable[[Sequence[str] | None], S], run: Callable[[S], Any],
             argv: Sequence[str] | None = None, *, quiet: Sequence[str] = ("kafka",),
             quiet_level: int = logging.WARNING) -> int:
    """Parse, run and map errors for the deployable ``name`` (see the module docstring); the exit status."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    for logger in quiet:
        logging.getLogger(logger).setLevel(quiet_level)
    try:
        settings = parse(argv)
        outcome = run(settings)
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(outcome)
        return int(outcome or 0)
    except VilaError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line, keep the traceback in the log
        logging.getLogger(name).exception("%s failed", name)
        print(f"{name}: {describe(exc)}", file=sys.stderr)
        return 1
