"""Runs ``python -m services.summarizer`` as a subprocess, the way a launcher does."""
from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

from services.cluster import ManagedProcess

_READY = re.compile(r"^ready summarizer (\S+:\d+)", re.M)
_REPO = Path(__file__).resolve().parents[3]


class SummarizerProcess(ManagedProcess):
    """One summarizer on a free port (``--port 0``); ready once it printed its ``ready`` line.

    ``target`` is its gRPC address once started. Dies with the test process.
    """

    def __init__(self, run_dir: Path, *, bootstrap: str, redis_url: str, group_id: str,
                 extra: tuple[str, ...] = ()):
        argv = [sys.executable, "-m", "services.summarizer", "--port", "0", "--group-id", group_id,
                "--session-timeout-ms", "6000", *extra]
        env = {**os.environ, "VILA_KAFKA_BOOTSTRAP": bootstrap, "VILA_REDIS_URL": redis_url,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")]))}
        super().__init__("summarizer", run_dir, argv, env=env, cwd=_REPO, die_with_parent=True)
        self.group_id = group_id
        self.target = ""

    def probe(self) -> bool:
        with open(self.log_path, "rb") as log:
            log.seek(self.extra.get("log_offset", 0))
            m = _READY.search(log.read().decode(errors="replace"))
        if m:
            self.target = m.group(1)
        return m is not None

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and the exit code (a graceful stop exits 0)."""
        os.kill(self.pid, signal.SIGTERM)
        code = self._popen.wait(timeout)
        self._forget()
        return code
