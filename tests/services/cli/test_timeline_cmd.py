"""``vila-stream timeline|summary|streams|watch`` as a user runs them, against a real Summaries server and Redis."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from services.aggregation import StreamAggregator
from services.cluster import free_port
from services.summarizer.store import SummaryStore
from tests.services.cli.conftest import assert_clean_error
from tests.services.summarizer.helpers import SummariesServerThread, new_stream_id, result

ANALYZE_WINDOW_KEYS = {"window_id", "start", "end", "caption", "actions", "activity"}


@pytest.fixture(scope="module")
def server(redis_server):
    with SummariesServerThread(redis_server.url) as s:
        yield s


@pytest.fixture
def store(redis_server):
    c = redis_server.client()
    yield SummaryStore(c)
    c.close()


@pytest.fixture
def stream(store):
    """A stream of 9 windows (the third failed) written to Redis; returns (stream id, results)."""
    sid = new_stream_id()
    results = [result(sid, i, error="worker timed out" if i == 2 else "") for i in range(9)]
    store.write_results(results)
    return sid, results


def test_timeline_prints_the_windows_in_a_range(cli, server, stream):
    sid, results = stream
    run = cli("timeline", sid, "--start", "2", "--end", "8", "--server", server.target)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"Timeline of {sid} (3 windows):"
    assert lines[1].startswith("  00:02.0–00:04.0  a person walks across the street  [walking 0.")
    assert lines[2] == "  00:04.0–00:06.0  [not analysed: worker timed out]"
    assert lines[-1].startswith("Segments: ")


def test_one_window_is_one_window(cli, server, store):
    sid = new_stream_id("one")
    store.write_results([result(sid, 0)])
    run = cli("timeline", sid, "--server", server.target)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"Timeline of {sid} (1 window):"
    run = cli("streams", "--server", server.target)
    [mine] = [line for line in run.stdout.splitlines() if line.startswith(f"{sid}  ")]
    assert "  1 window  " in mine, mine


def test_timeline_json_has_the_shape_of_analyze_windows(cli, server, stream):
    sid, results = stream
    run = cli("timeline", sid, "--json", "--server", server.target)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["stream_id"] == sid
    windows = data["windows"]
    assert [w["window_id"] for w in windows] == [r.window_id for r in results]
    for w, r in zip(windows, results):
        assert set(w) - {"error"} == ANALYZE_WINDOW_KEYS
        assert (w["start"], w["end"], w["caption"]) == (r.start, r.end, r.caption)
        assert w.get("error", "") == r.error
        assert [a["label"] for a in w["actions"]] == [a.label for a in r.top_actions(3)]
    expected = StreamAggregator(sid)
    for r in results:
        expected.add(r)
    assert data["segments"] == [{"start": s.start, "end": s.end, "caption": s.caption} for s in expected.segments()]


def test_summary_and_streams(cli, server, stream):
    sid, results = stream
    run = cli("summary", sid, "--server", server.target)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("8 windows over 00:00.0–00:18.0")
    data = json.loads(cli("summary", sid, "--json", "--server", server.target).stdout)
    assert (data["windows"], data["summary_method"], data["end"]) == (9, "extractive", 18.0)
    listing = json.loads(cli("streams", "--json", "--server", server.target).stdout)
    [mine] = [s for s in listing if s["stream_id"] == sid]
    assert (mine["windows"], mine["first_start"], mine["last_end"]) == (9, 0.0, 18.0)


def test_unknown_stream_bad_range_and_unreachable_server_are_one_line_errors(cli, server, stream, monkeypatch):
    sid, _ = stream
    assert_clean_error(cli("timeline", "no-such-stream", "--server", server.target), 2, "unknown stream")
    assert_clean_error(cli("summary", "no-such-stream", "--server", server.target), 2, "no-such-stream")
    assert_clean_error(cli("timeline", sid, "--start", "9", "--end", "3", "--server", server.target), 2, "range")
    assert_clean_error(cli("watch", "no-such-stream", "--server", server.target), 2, "unknown stream", "--new")
    nowhere = f"127.0.0.1:{free_port()}"
    assert_clean_error(cli("timeline", sid, "--server", nowhere), 5, "unreachable", nowhere)
    # the environment variable is the default address
    run = cli("summary", sid, env={"VILA_SUMMARIZER_ADDRESS": nowhere})
    assert_clean_error(run, 5, nowhere)
    assert cli("summary", sid, env={"VILA_SUMMARIZER_ADDRESS": server.target}).returncode == 0


def test_watch_prints_entries_written_after_it_started(server, store):
    sid = new_stream_id("watch")
    store.write_results([result(sid, 0)])  # before the watch: not printed
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "watch", sid, "--json", "--count", "2",
                             "--server", server.target], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    written = []
    try:
        deadline = time.monotonic() + 60
        i = 1
        while proc.poll() is None and time.monotonic() < deadline:
            store.write_results([result(sid, i)])  # until the watcher has seen two
            written.append(result(sid, i).window_id)
            i += 1
            time.sleep(0.3)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == 2 and all(g["stream_id"] == sid for g in got)
    ids = [g["window"]["window_id"] for g in got]
    assert set(ids) <= set(written) and ids == sorted(ids, key=written.index)
    assert set(got[0]["window"]) == ANALYZE_WINDOW_KEYS


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_ends_cleanly_on_ctrl_c(server, store, sig):
    """Also when started with SIGINT ignored, as a background job of a shell starts it."""
    sid = new_stream_id("watch")
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "watch", sid, "--new", "--server",
                             server.target],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        line, i = "", 0
        os.set_blocking(proc.stdout.fileno(), False)
        deadline = time.monotonic() + 60
        while not line and time.monotonic() < deadline:
            store.write_results([result(sid, i)])  # until the watcher printed one
            i += 1
            time.sleep(0.3)
            line = proc.stdout.readline()
        assert line.startswith(f"{sid}  00:"), line
        proc.send_signal(sig)
        assert proc.wait(30) == 0, proc.stderr.read()
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()

