"""``vila-stream eval``: what the user sees, on the tiny checkpoint."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_eval_prints_no_loading_bars(cli, tmp_path, tiny_model_dir):
    out = tmp_path / "eval"
    run = cli("eval", "--model", tiny_model_dir, "--clips", "2", "--json", "--out", out)
    assert run.returncode == 0, run.stderr
    assert "Loading" not in run.stderr and "\r" not in run.stderr and "it/s" not in run.stderr, run.stderr
    assert json.loads(run.stdout)["clips"] == 2
    assert (out / "report.json").is_file()
