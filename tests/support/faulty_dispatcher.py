"""``python -m tests.support.faulty_dispatcher N ARGS``: the real dispatcher, SIGKILLed between publishing and
committing. Fault injection lives here, in the tests, not in the production dispatcher.

With N given, the process SIGKILLs itself (no flush, no commit, no goodbye to the group) at the first commit
point after N results were acknowledged by Kafka: exactly between "results published" and "offsets committed".
"""
from __future__ import annotations

import os
import signal
import sys

from services.dispatcher import __main__ as dispatcher_main
from services.dispatcher.app import Dispatcher


def kill_before_commit_after(results: int) -> None:
    commit = Dispatcher._commit

    async def _commit(self: Dispatcher) -> None:
        if self.tracker.committable() and self.stats.results >= results:
            print(f"dispatcher: fault injection: SIGKILL before commit after {self.stats.results} results",
                  file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        await commit(self)

    Dispatcher._commit = _commit


if __name__ == "__main__":
    kill_before_commit_after(int(sys.argv[1]))
    sys.exit(dispatcher_main.main(sys.argv[2:]))
