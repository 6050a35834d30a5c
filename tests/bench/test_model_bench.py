"""``bench.model_bench`` at a tiny size: the table's columns and rows, and the released-dimension path (smoke)."""
from __future__ import annotations

import json

import pytest
import torch

from bench import model_bench
from bench.model_configs import SPECS, write_random_checkpoint
from workers.runtime import load_model


def _table(text: str, first_column: str) -> list[list[str]]:
    """The first Markdown table whose header starts with ``first_column``: header, then rows."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            table.append([cell.strip() for cell in line.strip("|").split("|")])
    return table


def test_tiny_bench_prints_the_table_with_baseline(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert model_bench.main(["--windows", "4", "--frames", "2", "--new-tokens", "3", "--batches", "1,4",
                             "--quantization", "none,int8-dynamic", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("machine: ")
    table = _table(text, "config")
    assert table[0] == list(model_bench.COLUMNS)
    body = table[1:]
    assert [(r[1], r[2], r[3]) for r in body] == [
        (q, p, b) for q in ("none", "int8-dynamic") for p, b in (("runtime", "1"), ("runtime", "4"), ("hf-generate", "1"))
    ]
    for row in body:
        windows_per_s, tokens_per_s, ttft, peak = (float(v) for v in row[5:9])
        assert windows_per_s > 0 and ttft > 0 and peak > 0
        assert tokens_per_s == pytest.approx(windows_per_s * 3, rel=0.01)  # every answer runs to its budget
    second = text.split("output change against 'none'")[1]
    fidelity = _table(second, "config")
    assert fidelity[0] == list(model_bench.FIDELITY_COLUMNS)
    none, dynamic = fidelity[1], fidelity[2]
    assert none[4] == none[5] == "1.000" and none[6] == "4/4"
    assert float(dynamic[2]) < float(none[2])  # int8 decoder weights are smaller
    saved = json.loads(out.read_text())
    assert saved["columns"] == list(model_bench.COLUMNS) and len(saved["rows"]) == len(body)


@pytest.mark.parametrize("name, tokens, hidden, vocab", [("nvila-lite-2b", 121, 1536, 151648),
                                                          ("vila1.5-3b", 196, 2560, 32000)])
def test_released_dimensions_build_at_one_layer(tmp_path, name, tokens, hidden, vocab):
    path = write_random_checkpoint(tmp_path / name, SPECS[name], layers=1)
    model = load_model(path, dtype="bfloat16")
    assert model.projector.num_tokens(model.tower.num_tokens) == tokens
    assert model.llm.config.hidden_size == hidden and model.llm.config.num_hidden_layers == 1
    assert model.llm.get_input_embeddings().num_embeddings >= vocab
    assert model.tower.hidden_size == 1152


def test_bench_runs_a_released_config_on_cpu(tmp_path, capsys):
    # The --device cuda --config nvila-lite-2b path, at one layer on CPU: build, load, both paths, table
    # (and the short dtype name the loader accepts).
    assert model_bench.main(["--config", "nvila-lite-2b", "--layers", "1", "--dtype", "bf16", "--windows", "1",
                             "--frames", "1", "--new-tokens", "1", "--batches", "1",
                             "--workdir", str(tmp_path / "made")]) == 0  # a --workdir not made yet
    table = _table(capsys.readouterr().out, "config")
    assert [r[2] for r in table[1:]] == ["runtime", "hf-generate"] and table[1][0] == "nvila-lite-2b"


@pytest.mark.parametrize("args, needle", [(["--dtype", "fp8"], "dtype 'fp8' is not supported"),
                                          (["--device", "tpu:0"], "device 'tpu:0'")]
                         + ([] if torch.cuda.is_available() else [(["--device", "cuda"], "CUDA is not available")]))
def test_bad_device_or_dtype_is_a_one_line_error(args, needle):
    with pytest.raises(SystemExit) as info:
        model_bench.main(args)
    message = str(info.value.code)
    assert message.startswith("model_bench: ") and needle in message and "\n" not in message
