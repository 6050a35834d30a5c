"""Runs the real ``vila-stream`` command in a subprocess, as a user would."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    json: dict | None

    @property
    def error_lines(self) -> list[str]:
        return [l for l in self.stderr.splitlines() if l.startswith("vila-stream: ")]


@pytest.fixture(scope="session")
def vila_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vila-home")


@pytest.fixture
def cli(tmp_path, vila_home):
    """``cli(*args, json=True)`` runs ``vila-stream ARGS`` and returns a CliRun."""

    def run(*args: str, want_json: bool = True, timeout: float = 300, env: dict | None = None) -> CliRun:
        out = tmp_path / f"result-{len(list(tmp_path.glob('result-*.json')))}.json"
        argv = [sys.executable, "-m", "services.cli.main", *map(str, args)]
        if want_json and args and args[0] == "analyze":
            argv += ["--json", str(out)]
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "VILA_STREAM_HOME": str(vila_home), **(env or {})},
        )
        data = json.loads(out.read_text()) if out.exists() else None
        return CliRun(proc.returncode, proc.stdout, proc.stderr, data)

    return run


def assert_clean_error(run: CliRun, code: int, *needles: str) -> str:
    """A bad input gives one error line, the expected exit code and no traceback."""
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert len(run.error_lines) == 1, run.stderr
    line = run.error_lines[0]
    for needle in needles:
        assert needle.lower() in line.lower(), line
    return line
