"""Supervisor (services/cluster/supervisor.py) on real processes with an injected clock: a component whose
process is gone is started again from its pid record after a delay that grows while it keeps dying, and one
that `cluster down` removed is left alone."""
from __future__ import annotations

import sys

from core.backoff import Backoff
from services.cluster.process import ManagedProcess, ProcessRecord
from services.cluster.supervisor import Supervisor
from tests.support.wait import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ceiling(Backoff):
    """Delays at their ceiling (no jitter), so the test can name them: 1, 2, 4 ... s."""

    def next_delay(self) -> float:
        delay = self.ceiling()
        self.failures += 1
        return delay


def test_a_gone_process_is_started_again_with_growing_delays(tmp_path):
    crasher = ManagedProcess("crasher", tmp_path, [sys.executable, "-c", "print('up and gone')"])
    crasher.spawn()
    clock = Clock()
    supervisor = Supervisor(tmp_path, ["crasher", "absent"], clock=clock, backoff=lambda: Ceiling(1.0, 60.0))
    try:
        wait_until("the crasher to exit", lambda: not crasher.running(), 30)
        assert supervisor.check() == []  # noticed: due in 1 s
        clock.now = 0.9
        assert supervisor.check() == []
        clock.now = 1.0
        assert supervisor.check() == ["crasher"]
        first = ProcessRecord.load(tmp_path / "crasher.pid")
        assert first.pid != crasher.pid and first.argv == crasher.argv
        wait_until("the restarted crasher to exit", lambda: not first.alive(), 30)
        assert supervisor.check() == []  # due in 2 s now
        clock.now = 2.9
        assert supervisor.check() == []
        clock.now = 3.0
        assert supervisor.check() == ["crasher"]
        wait_until("the third run's output", lambda: (tmp_path / "crasher.log").read_text().splitlines()
                   .count("up and gone") == 3, 30)  # the same log, appended
    finally:
        (tmp_path / "crasher.pid").unlink(missing_ok=True)
        clock.now = 100.0
        assert supervisor.check() == []  # no pid file (`cluster down` removed it): left alone
