"""Smoke runs of the quantisation benches behind docs/quantization.md: they run and print their tables."""
from __future__ import annotations

from bench import quant_fidelity, quant_layer_bench


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def test_fidelity_table(capsys):
    assert quant_fidelity.main(["--windows", "2", "--new-tokens", "3"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows[0] == list(quant_fidelity.COLUMNS)
    assert [r[0] for r in rows[1:]] == list(quant_fidelity.MODES)
    for row in rows[1:]:
        assert 0.0 <= float(row[1]) <= 1.0 and 0.0 <= float(row[2]) <= 1.0
        assert row[6] == "yes" or row[6].startswith("no (")


def test_layer_bench_table(capsys):
    assert quant_layer_bench.main(["--layers", "1", "--batch", "1", "--prompt", "8", "--steps", "2"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows[0][0] == "quant" and [r[0] for r in rows[1:]] == list(quant_layer_bench.MODES)
    assert rows[1][2] == "1.00" and rows[1][4] == "1.00"  # float32 is the baseline of its own run
