"""A managed local process: started with a log file, waited on until a probe says it is ready, stopped for sure.

Each process runs in its own session (so its process group holds it and every child it forks), writes stdout and
stderr to ``<run_dir>/<name>.log`` and records itself in ``<run_dir>/<name>.pid`` (JSON) so that another
invocation (``vila-stream cluster status|down``) can find it again. Stopping sends SIGTERM to the group, waits,
then SIGKILLs the group, so nothing it started outlives it.

Every wait is bounded: a process that exits during start, or is not ready in time, raises ``ClusterError`` with
the tail of its log, and is stopped first.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from core.errors import ClusterError

POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None when gone or a zombie.

    Stored with the pid so that a recycled pid is never mistaken for our process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces and parentheses
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ProcessRecord:
    """What a pid file holds: enough to find, probe and stop the process from another invocation."""

    name: str
    pid: int
    start_ticks: str
    argv: list[str]
    log: str
    endpoint: str = ""
    extra: dict = field(default_factory=dict)

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "ProcessRecord | None":
        """The record in ``path``, or None when there is none or it cannot be read (treated as not running)."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid``; nothing when it is already gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_record(record: ProcessRecord, timeout: float = 15.0,
                reap: Callable[[], object] | None = None) -> None:
    """SIGTERM the record's process group, wait up to ``timeout`` s for the leader to exit, then SIGKILL the group.

    ``reap`` (e.g. ``Popen.poll``) is called while waiting when the process is our child, so that it does not
    linger as a zombie.
    """
    if record.alive():
        signal_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not record.alive():
                break
            time.sleep(POLL_S / 2)
    # The leader may have exited and left children behind: the group goes in any case.
    signal_group(record.pid, signal.SIGKILL)
    if reap is not None:
        deadline = time.monotonic() + 5.0
        while reap() is None and time.monotonic() < deadline:
            time.sleep(POLL_S / 4)


def log_tail(path: Path | str, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One local server process. Subclasses set the command and the readiness probe.

    ``argv``: the command line. ``probe``: returns True once the process serves (exceptions count as not yet).
    ``endpoint``: what clients connect to, shown in errors and status. ``die_with_parent``: the kernel kills the
    process when ours exits (tests), instead of leaving it running detached (``cluster up``).
    """

    stop_timeout = 15.0

    def __init__(self, name: str, run_dir: Path | str, argv: Sequence[str] = (), *,
                 probe: Callable[[], bool] | None = None, endpoint: str = "",
                 env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
                 die_with_parent: bool = False) -> None:
        self.name = name
        self.run_dir = Path(run_dir)
        self.argv = list(argv)
        self.endpoint = endpoint
        self.env = dict(env) if env is not None else None
        self.cwd = Path(cwd) if cwd is not None else self.run_dir
        self.die_with_parent = die_with_parent
        self._probe = probe
        self.extra: dict = {}  # saved in the pid file (e.g. how to probe it); ``log_offset`` is set by spawn
        self._popen: subprocess.Popen | None = None
        self.record: ProcessRecord | None = None

    # -- paths ---------------------------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def pid(self) -> int | None:
        return self.record.pid if self.record else None

    # -- hooks ---------------------------------------------------------------------------------------------
    def check_ports(self) -> None:
        """ClusterError naming the port when one the process would listen on is taken (prepare calls it)."""

    def prepare(self) -> None:
        """Runs before each start: check what the process needs, write its configuration. Raises ClusterError."""
        self.check_ports()

    def probe(self) -> bool:
        """True when the process serves. The default uses the ``probe`` given to the constructor."""
        return self._probe() if self._probe is not None else True

    # -- life cycle ----------------------------------------------------------------------------------------
    def running(self) -> bool:
        if self._popen is not None:
            self._popen.poll()  # reaps our child so that an exited one is not seen as a live zombie
        return self.record is not None and self.record.alive()

    def start(self, timeout: float = 60.0) -> "ManagedProcess":
        """Start the process and wait until it is ready. ClusterError (with the log tail) if it exits or times out."""
        if self.running():
            raise ClusterError(f"{self.name} is already running (pid {self.pid})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> None:
        """Start the process without waiting; writes the pid file."""
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.extra["log_offset"] = log.tell()  # where this run's output starts
            self.extra["cwd"] = str(self.cwd)  # so that another invocation can start it again the same way
            try:
                self._popen = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.cwd, env=self.env, start_new_session=True,
                    preexec_fn=_die_with_parent if self.die_with_parent else None)
            except OSError as exc:
                raise ClusterError(f"{self.name}: cannot run {self.argv[0]}: {exc.strerror}") from None
        ticks = _start_ticks(self._popen.pid) or ""
        self.record = ProcessRecord(self.name, self._popen.pid, ticks, self.argv, str(self.log_path),
                                    self.endpoint, dict(self.extra))
        self.record.save(self.pid_path)

    def wait_ready(self, timeout: float) -> None:
        """Poll the probe until it says ready; ClusterError with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            if not self.running():
                code = self._exit_code()
                how = f"exited with code {code}" if code is not None else "exited"
                self._forget()
                raise ClusterError(self._failure(f"{how} while starting"))
            try:
                if self.probe():
                    return
            except Exception as exc:  # not ready yet: refused connections and the like are expected until it serves
                last_error = f" (last probe: {type(exc).__name__}: {exc})"
            if time.monotonic() >= deadline:
                self.stop()
                raise ClusterError(self._failure(f"was not ready after {timeout:.0f} s{last_error}"))
            time.sleep(POLL_S)

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, wait, SIGKILL the whole group; removes the pid file. Does nothing when not running."""
        if self.record is not None:
            reap = self._popen.poll if self._popen is not None else None
            stop_record(self.record, self.stop_timeout if timeout is None else timeout, reap)
        self._forget()

    def restart(self, timeout: float = 60.0) -> "ManagedProcess":
        self.stop()
        return self.start(timeout)

    def kill(self) -> None:
        """SIGKILL the group at once (fault tests)."""
        if self.record is not None:
            signal_group(self.record.pid, signal.SIGKILL)
            if self._popen is not None:
                self._popen.wait(timeout=10)
        self._forget()

    def log_tail(self, lines: int = 25) -> str:
        return log_tail(self.log_path, lines)

    def output_since_start(self) -> str:
        """What the process wrote since its latest start ("" before the first)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.extra.get("log_offset", 0))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def printed_ready(self) -> bool:
        """True once the process printed a line starting with ``ready `` since its latest start (the contract
        every deployable follows); a probe for processes without a port."""
        return any(line.startswith("ready ") for line in self.output_since_start().splitlines())

    def wait_exit(self, timeout: float) -> int:
        """The exit status of our child, once it ends by itself within ``timeout`` s (TimeoutExpired otherwise)."""
        if self._popen is None:
            raise ClusterError(f"{self.name} was not started by this process")
        code = self._popen.wait(timeout=timeout)
        self._forget()
        return code

    def _exit_code(self) -> int | None:
        """Our child's exit code once it is gone. A leader that is already a zombie while its other threads
        still exit cannot be reaped yet: wait a little for it."""
        if self._popen is None:
            return None
        try:
            return self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def _forget(self) -> None:
        self.record = None
        self._popen = None
        self.pid_path.unlink(missing_ok=True)

    def _failure(self, what: str) -> str:
        where = f" ({self.endpoint})" if self.endpoint else ""
        tail = self.log_tail()
        body = f"\n--- last lines of {self.log_path} ---\n{tail}" if tail else f" (log {self.log_path} is empty)"
        return f"{self.name}{where} {what}{body}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, pid={self.pid}, endpoint={self.endpoint!r})"
