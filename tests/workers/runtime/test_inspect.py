"""``model inspect`` (configs + weight headers, no weights loaded) and ``model make-tiny --like``."""
from __future__ import annotations

import json

import pytest

from services.cli.main import main
from core.errors import ModelLayoutError
from workers.runtime import load_model, make_tiny
from workers.runtime.inspect import describe

KEYS = {"family", "vision_tower", "projector", "template", "tokens_per_image", "tokens_per_frame", "parameters",
        "dtype"}


def test_describe_matches_the_loaded_model(tmp_path):
    for like in ("vila1.5-40b", "nvila-8b", "nvila-8b-video", "llama-3-vila1.5-8b"):
        path = make_tiny(tmp_path / like, like=like)
        info, model = describe(path), load_model(path)
        assert set(info) == KEYS
        assert (info["family"], info["projector"], info["template"]) == (
            model.info.family, model.info.projector, model.info.template)
        assert (info["tokens_per_image"], info["tokens_per_frame"]) == (
            model.info.tokens_per_image, model.info.tokens_per_frame), like
        assert info["vision_tower"] == model.info.vision_tower
        stored = {"llm": model.llm, "vision_tower": model.tower, "mm_projector": model.projector}
        counts = {k: sum(p.numel() for p in m.parameters()) for k, m in stored.items()}
        rows = model.llm.get_input_embeddings().num_embeddings - model.llm.config.vocab_size  # media rows added
        assert info["parameters"]["vision_tower"] == counts["vision_tower"]
        assert info["parameters"]["mm_projector"] == counts["mm_projector"]
        assert info["parameters"]["llm"] <= counts["llm"] and rows >= 0
        assert info["parameters"]["total"] == sum(info["parameters"][k] for k in stored)
        assert info["dtype"] == "float32"


def test_describe_names_the_broken_file(tmp_path):
    path = make_tiny(tmp_path / "m", like="nvila-lite-2b")
    (path / "mm_projector/config.json").unlink()
    with pytest.raises(ModelLayoutError, match="mm_projector/config.json"):
        describe(path)


def test_cli_inspect_and_make_tiny_like(tmp_path, capsys):
    out = tmp_path / "v15"
    assert main(["model", "make-tiny", str(out), "--like", "vila1.5-3b"]) == 0
    assert "vila1.5-3b" in capsys.readouterr().out
    assert main(["model", "inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info) == KEYS and info["family"] == "vila1.5" and info["tokens_per_image"] == 16
    assert main(["model", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "family" in text and "vila1.5" in text and "tokens per video frame" in text
    assert main(["model", "make-tiny", str(tmp_path / "x"), "--like", "vila9"]) == 2
    assert "vila1.5-3b" in capsys.readouterr().err
    assert main(["model", "inspect", str(tmp_path / "missing")]) == 4
    plain = tmp_path / "plain"
    assert main(["model", "make-tiny", str(plain)]) == 0  # without --like: the embedded tiny model's family
    assert describe(plain)["family"] == "nvila-video"
