"""Keeps the local cluster running: ``python -m services.cluster.supervisor --run-dir DIR``.

``cluster up`` starts it last, detached like the rest, as the ``supervisor`` component; ``cluster down`` stops it
first, so nothing it stops comes back. Every ``CHECK_S`` it reads the other components' pid records; one whose
process has gone is started again from its record (the same command line, its log appended, its pid file
rewritten), after a delay that grows from 1 s to 60 s while it keeps dying (jittered) and starts over once it
has stayed up for ``STABLE_S``: what compose's ``restart: unless-stopped`` does for the containers. Each restart
is a line in ``supervisor.log``: which component, how many restarts so far, the delay.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from core.backoff import Backoff
from core.signals import stop_on_signals
from core.startup import run_main
from services.cluster.process import ManagedProcess, ProcessRecord

log = logging.getLogger("vila.cluster.supervisor")

NAME = "supervisor"
CHECK_S = 1.0
STABLE_S = 60.0
FIRST_DELAY_S, MAX_DELAY_S = 1.0, 60.0


@dataclass
class _Watched:
    backoff: Backoff
    due: float | None = None  # when the gone process is started again
    up_since: float = 0.0
    restarts: int = 0


@dataclass
class Supervisor:
    """One pass (``check``) restarts what is due; ``run`` passes until ``stop``. ``clock`` is injectable."""

    run_dir: Path
    names: Sequence[str]
    clock: Callable[[], float] = time.monotonic
    backoff: Callable[[], Backoff] = lambda: Backoff(FIRST_DELAY_S, MAX_DELAY_S)
    _watched: dict[str, _Watched] = field(default_factory=dict)
    _children: list[ManagedProcess] = field(default_factory=list)

    def check(self) -> list[str]:
        """Restart the components whose process has gone and whose delay has passed; their names."""
        now, restarted = self.clock(), []
        for name in self.names:
            record = ProcessRecord.load(self.run_dir / f"{name}.pid")
            if record is None:  # never started, or stopped by `cluster down`: not ours to start
                self._watched.pop(name, None)
                continue
            watched = self._watched.setdefault(name, _Watched(self.backoff(), up_since=now))
            if record.alive():
                if watched.due is not None:
                    watched.due, watched.up_since = None, now
                elif now - watched.up_since >= STABLE_S:
                    watched.backoff.reset()
                continue
            if watched.due is None:
                delay = watched.backoff.next_delay()
                watched.due = now + delay
                log.warning("%s has stopped (pid %d); starting it again in %.1f s", name, record.pid, delay)
            if now >= watched.due:
                self._respawn(record)
                watched.restarts += 1
                watched.due, watched.up_since = None, now
                log.warning("%s started again (pid %s, restart %d)", name, self._children[-1].pid, watched.restarts)
                restarted.append(name)
        self._reap()
        return restarted

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(CHECK_S):
            self.check()

    def _respawn(self, record: ProcessRecord) -> None:
        process = ManagedProcess(record.name, self.run_dir, record.argv, endpoint=record.endpoint,
                                 env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=record.extra.get("cwd"))
        process.extra = {k: v for k, v in record.extra.items() if k != "log_offset"}
        process.spawn()
        self._children.append(process)

    def _reap(self) -> None:  # our children that exit again must not stay zombies
        self._children = [c for c in self._children if c.running()]


def parse_settings(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.cluster.supervisor",
                                     description="Restart the local cluster's components when they stop.")
    parser.add_argument("--run-dir", type=Path, required=True, help="the cluster's run directory")
    parser.add_argument("--components", required=True, help="comma-separated component names to watch")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    names = [n for n in args.components.split(",") if n and n != NAME]
    stop = stop_on_signals()
    print(f"ready supervisor run_dir={args.run_dir} components={','.join(names)}", file=sys.stderr, flush=True)
    Supervisor(args.run_dir, names).run(stop)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("vila-supervisor", parse_settings, run, argv)


if __name__ == "__main__":
    sys.exit(main())
