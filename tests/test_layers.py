"""The layering contracts ([tool.importlinter] in pyproject.toml, run by ``make test``) hold, and they bite.

The second test runs ``lint-imports`` on a scratch tree: a copy of ``core/`` (small) with one wrong
line added, and links to the real ``ingest``, ``workers``, ``services`` and ``bench``. It runs in a
subprocess so that the scratch ``core`` is the one imported, not this process's.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")  # import-linter's command (the dev extras)
WIDE = {**os.environ, "COLUMNS": "400"}  # one report line per contract: no wrapping of long names
CONTRACTS = [c["name"] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
             ["contracts"]]


def run_lint(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the tree at ``cwd`` with this checkout's configuration."""
    return subprocess.run([str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")], cwd=cwd,
                          env=WIDE, capture_output=True, text=True, timeout=120)


def lint(cwd: Path) -> str:
    """The report of ``run_lint`` (exit status 0, or 1 when a contract is broken)."""
    result = run_lint(cwd)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.stdout


def test_the_tree_keeps_every_contract():
    result = run_lint(ROOT)
    assert result.returncode == 0, result.stdout[result.stdout.find("Contracts:"):]


# (file in core/, line appended to it, start of the name of the contract it breaks, line expected in the report)
WRONG = [
    ("ids.py", "import services.cli", "floors:", "core.ids -> services.cli (l.{n})"),
    ("types.py", "import core.transport.kafka", "no import cycles", "No cycles are allowed in core."),
    ("ids.py", "import kafka", "kafka-python is imported only", "core.ids -> kafka (l.{n})"),
    ("labels.py", "import tests.support", "shipped code", "core.labels -> tests (l.{n})"),
]


@pytest.mark.parametrize(("module", "line", "contract", "reported"), WRONG, ids=[w[1] for w in WRONG])
def test_a_wrong_import_breaks_its_contract(tmp_path, module, line, contract, reported):
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("ingest", "workers", "services", "bench"):
        (tmp_path / package).symlink_to(ROOT / package, target_is_directory=True)
    target = tmp_path / "core" / module
    text = target.read_text()
    target.write_text(text + line + "\n")
    reported = reported.format(n=text.count("\n") + 1)

    (name,) = [c for c in CONTRACTS if c.startswith(contract)]

    report = lint(tmp_path)
    assert f"{name} BROKEN" in report and reported in report, report
    assert reported not in lint(ROOT)  # the real tree does not have it: the added line did this
