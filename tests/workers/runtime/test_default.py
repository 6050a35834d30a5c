"""The embedded default model: the shipped trained one; the random fallback is built once, atomically, and reused."""
from __future__ import annotations

from workers.runtime import default_model_path, load_model
from workers.runtime.default import DEFAULT_NAME, SHIPPED_MODEL, random_model_path


def test_the_shipped_model_is_the_default(tmp_path):
    if (SHIPPED_MODEL / "config.json").is_file():
        assert default_model_path(tmp_path) == SHIPPED_MODEL
        assert not (tmp_path / "models").exists()  # nothing built when the trained model is there
    else:
        assert default_model_path(tmp_path) == random_model_path(tmp_path)


def test_built_once_and_reused(tmp_path, tiny_model_dir):
    path = random_model_path(tmp_path)
    assert path == tmp_path / "models" / DEFAULT_NAME
    stamp = (path / "llm/model.safetensors").stat().st_mtime_ns
    assert random_model_path(tmp_path) == path
    assert (path / "llm/model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "models").iterdir()] == [DEFAULT_NAME]  # no staging leftovers
    # seed 0: the same bytes as the session's tiny checkpoint
    assert (path / "llm/model.safetensors").read_bytes() == (tiny_model_dir / "llm/model.safetensors").read_bytes()
    assert load_model(path).info.model_id == DEFAULT_NAME


def test_env_var_sets_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VILA_STREAM_HOME", str(tmp_path / "home"))
    assert random_model_path() == tmp_path / "home" / "models" / DEFAULT_NAME
    assert (tmp_path / "home" / "models" / DEFAULT_NAME / "config.json").is_file()
