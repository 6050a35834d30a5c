"""Taking a worker that stops answering out of the pool, and putting it back when it answers again.

A worker can hang without dying (a stuck GPU, SIGSTOP): its TCP connection stays up, so only its calls'
deadlines would notice, after a minute each. The pool asks every worker's ``grpc.health.v1`` every
``PROBE_EVERY_S`` with a ``PROBE_TIMEOUT_S`` deadline; ``EJECT_AFTER`` answers in a row that are not SERVING
(or none at all) eject it: it is picked no more, and the calls it holds are cancelled and sent elsewhere (or
wait for a worker). One SERVING answer puts it back. ``HealthRecord`` is the pure rule; the pool runs the probes.
"""
from __future__ import annotations

from dataclasses import dataclass

PROBE_EVERY_S = 1.0
PROBE_TIMEOUT_S = 2.0
EJECT_AFTER = 3  # misses in a row: a busy worker on a loaded machine may miss one


@dataclass
class HealthRecord:
    """One worker's recent probe answers; ``observe`` says when it is ejected or restored."""

    eject_after: int = EJECT_AFTER
    misses: int = 0
    ejected: bool = False

    def observe(self, serving: bool) -> str | None:
        """Record one probe; "ejected" or "restored" when that changes the worker's standing, else None."""
        if serving:
            self.misses = 0
            if self.ejected:
                self.ejected = False
                return "restored"
            return None
        self.misses += 1
        if not self.ejected and self.misses >= self.eject_after:
            self.ejected = True
            return "ejected"
        return None
