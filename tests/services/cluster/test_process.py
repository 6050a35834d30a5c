"""ManagedProcess: clear start errors with the log's tail, bounded waits, nothing left behind after stop."""
from __future__ import annotations

import os
import sys

import pytest

from core.errors import ClusterError
from services.cluster.process import ManagedProcess, ProcessRecord
from tests.support.wait import wait_until


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_exit_during_start_reports_code_and_log_tail(tmp_path):
    proc = ManagedProcess("crasher", tmp_path, _python("import sys; print('bad config line 3', flush=True); sys.exit(3)"),
                          probe=lambda: False)
    with pytest.raises(ClusterError) as info:
        proc.start(timeout=30)
    message = str(info.value)
    assert message.startswith("crasher exited with code 3 while starting")
    assert "bad config line 3" in message
    assert not proc.pid_path.exists()


def test_not_ready_in_time_is_stopped_and_reported(tmp_path):
    proc = ManagedProcess("sleeper", tmp_path, _python("import time; print('warming up', flush=True); time.sleep(60)"),
                          probe=lambda: False, die_with_parent=True)
    with pytest.raises(ClusterError, match=r"sleeper was not ready after 1 s[\s\S]*warming up"):
        proc.start(timeout=1)
    assert not proc.running()


def test_probe_error_is_shown_on_timeout(tmp_path):
    def probe() -> bool:
        raise ConnectionRefusedError("nobody home")

    proc = ManagedProcess("svc", tmp_path, _python("import time; time.sleep(60)"), probe=probe,
                          die_with_parent=True)
    with pytest.raises(ClusterError, match="last probe: ConnectionRefusedError: nobody home"):
        proc.start(timeout=0.5)


def test_stop_kills_the_whole_group_and_escalates_to_sigkill(tmp_path):
    # The leader ignores SIGTERM and has a child: stop must still leave neither behind.
    child_pid_file = tmp_path / "child.pid"
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = ManagedProcess("stubborn", tmp_path, _python(code), probe=lambda: child_pid_file.exists(),
                          die_with_parent=True)
    proc.start(timeout=30)
    leader = proc.pid
    child = int(child_pid_file.read_text())
    assert _alive(leader) and _alive(child)
    proc.stop(timeout=0.5)
    wait_until("the child to be gone", lambda: not _alive(child), 10, every_s=0.05)
    assert not _alive(leader)
    assert not proc.pid_path.exists()


def test_pid_file_finds_the_process_from_another_invocation(tmp_path):
    proc = ManagedProcess("svc", tmp_path, _python("import time; time.sleep(60)"), die_with_parent=True)
    proc.start(timeout=10)
    try:
        record = ProcessRecord.load(proc.pid_path)
        assert record is not None and record.pid == proc.pid and record.alive()
        # A recycled pid (same number, other start time) is not our process.
        assert not ProcessRecord(record.name, record.pid, "1", record.argv, record.log).alive()
    finally:
        proc.stop()
    assert not record.alive()


def test_starting_twice_is_refused(tmp_path):
    proc = ManagedProcess("svc", tmp_path, _python("import time; time.sleep(60)"), die_with_parent=True)
    proc.start(timeout=10)
    try:
        with pytest.raises(ClusterError, match=f"svc is already running \\(pid {proc.pid}\\)"):
            proc.start(timeout=10)
    finally:
        proc.stop()


def test_missing_program_is_a_clear_error(tmp_path):
    proc = ManagedProcess("ghost", tmp_path, [str(tmp_path / "no-such-program")])
    with pytest.raises(ClusterError, match="ghost: cannot run .*no-such-program"):
        proc.start(timeout=5)
    assert os.listdir(tmp_path) == ["ghost.log"]


def test_ready_line_and_exit_status(tmp_path):
    go = tmp_path / "go"  # the child exits once the test has seen it ready: not before, not on a timer
    code = ("import os, sys, time; print('loading', flush=True); print('ready svc on 1', file=sys.stderr, flush=True)\n"
            f"deadline = time.monotonic() + 30\nwhile not os.path.exists({str(go)!r}) and time.monotonic() < deadline:\n"
            "    time.sleep(0.01)\n")
    proc = ManagedProcess("svc", tmp_path, _python(code), die_with_parent=True)
    proc.probe = proc.printed_ready
    proc.start(timeout=30)
    assert "ready svc on 1" in proc.output_since_start()
    go.touch()
    assert proc.wait_exit(timeout=30) == 0
    # A second run's readiness looks only at its own output, not the first run's "ready" line.
    proc.argv = _python("import time; time.sleep(60)")
    with pytest.raises(ClusterError, match="not ready after"):
        proc.start(timeout=1)
