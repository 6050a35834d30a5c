"""Ingest service settings: windowing defaults are IngestConfig's, "not set" is None (spelled 0 in text)."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from core.errors import InvalidInput
from ingest.config import IngestConfig
from ingest.service.settings import WINDOWING, IngestSettings, add_ingest_arguments, settings_from


def settings(argv=(), environ=None) -> IngestSettings:
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    return settings_from(parser.parse_args(list(argv)), environ or {})


def test_windowing_defaults_are_ingest_configs():
    config_defaults = {f.name: f.default for f in dataclasses.fields(IngestConfig)}
    service_defaults = {f.name: f.default for f in dataclasses.fields(IngestSettings)}
    for name in (*WINDOWING, "backoff_max_s"):
        assert service_defaults[name] == config_defaults[name], name
    assert settings().ingest_config() == IngestConfig()


def test_the_help_shows_ingest_configs_defaults():
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert f"VILA_INGEST_MAX_OPEN_ATTEMPTS, default {IngestConfig.max_open_attempts}" in text
    assert "VILA_INGEST_FPS, default 0" in text  # None (not set) is spelled 0


def test_zero_or_empty_means_not_set_for_optional_windowing():
    flags = settings(["--stride-seconds", "0", "--fps", "0", "--max-seconds", "0"])
    assert (flags.stride_seconds, flags.fps, flags.max_seconds) == (None, None, None)
    env = settings(environ={"VILA_INGEST_STRIDE_SECONDS": "", "VILA_INGEST_FPS": "2", "VILA_INGEST_MAX_SECONDS": "5"})
    assert (env.stride_seconds, env.fps, env.max_seconds) == (None, 2.0, 5.0)
    config = settings(["--frames-per-window", "0", "--fps", "4"]).ingest_config()
    assert (config.frames_per_window, config.fps) == (None, 4.0)
    with pytest.raises(InvalidInput, match="fps and frames_per_window are both None"):
        settings(["--frames-per-window", "0"])


@pytest.mark.parametrize("argv, message", [
    (["--stride-seconds", "9"], "stride_seconds must be > 0 and <= 8"),
    (["--max-open-attempts", "0"], "max_open_attempts must be >= 1"),
    (["--fps", "fast"], "--fps: cannot read 'fast' as float"),
])
def test_bad_windowing_values_name_the_field(argv, message):
    with pytest.raises(InvalidInput, match=message):
        settings(argv)


def test_a_small_backoff_max_lifts_to_the_first_delay():
    assert settings(["--backoff-max-s", "0.1"]).ingest_config().backoff_max_s == IngestConfig.backoff_initial_s
