"""Settings: flag > environment > default, one env name per field, typed parse errors."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.settings import add_arguments, cache_root, env_names, from_args, setting


@dataclass(frozen=True)
class Demo:
    port: int = field(default=1, metadata=setting("port"))
    ratio: float = field(default=0.5, metadata=setting("ratio"))
    debug: bool = field(default=False, metadata=setting("debug"))
    peers: tuple[str, ...] = field(default=("a",), metadata=setting("peers"))
    kafka_bootstrap: str = field(default="k:1", metadata=setting("kafka", env="VILA_KAFKA_BOOTSTRAP"))


def parse(argv, environ):
    parser = argparse.ArgumentParser()
    add_arguments(parser, Demo, "VILA_DEMO_")
    return from_args(Demo, parser.parse_args(argv), "VILA_DEMO_", environ)


def test_defaults_environment_and_flags_in_that_order():
    assert parse([], {}) == Demo()
    env = {"VILA_DEMO_PORT": "7", "VILA_DEMO_DEBUG": "yes", "VILA_DEMO_PEERS": "x, y", "VILA_KAFKA_BOOTSTRAP": "h:9"}
    assert parse([], env) == Demo(port=7, debug=True, peers=("x", "y"), kafka_bootstrap="h:9")
    assert parse(["--port", "8", "--ratio", "0.25"], env).port == 8
    assert parse(["--port", "8", "--ratio", "0.25"], env).ratio == 0.25


def test_env_names_one_per_field():
    assert env_names(Demo, "VILA_DEMO_") == {
        "port": "VILA_DEMO_PORT", "ratio": "VILA_DEMO_RATIO", "debug": "VILA_DEMO_DEBUG",
        "peers": "VILA_DEMO_PEERS", "kafka_bootstrap": "VILA_KAFKA_BOOTSTRAP",
    }


@pytest.mark.parametrize("env, name", [({"VILA_DEMO_PORT": "x"}, "VILA_DEMO_PORT"),
                                       ({"VILA_DEMO_DEBUG": "maybe"}, "VILA_DEMO_DEBUG")])
def test_unparseable_value_names_its_source(env, name):
    with pytest.raises(InvalidInput, match=name):
        parse([], env)


@dataclass(frozen=True)
class Unset:
    limit: float | None = field(default=None, metadata=setting("limit (0 = none)"))
    count: int | None = field(default=3, metadata=setting("count (0 = none)"))


@pytest.mark.parametrize("argv, environ, expected", [
    ([], {}, Unset()),
    ([], {"VILA_DEMO_LIMIT": "2.5", "VILA_DEMO_COUNT": "0"}, Unset(limit=2.5, count=None)),
    (["--limit", "0", "--count", "7"], {"VILA_DEMO_LIMIT": "2.5"}, Unset(limit=None, count=7)),
    ([], {"VILA_DEMO_COUNT": " "}, Unset(count=None)),
])
def test_an_optional_number_is_left_unset_by_zero_or_empty(argv, environ, expected):
    parser = argparse.ArgumentParser()
    add_arguments(parser, Unset, "VILA_DEMO_")
    assert from_args(Unset, parser.parse_args(argv), "VILA_DEMO_", environ) == expected
    with pytest.raises(InvalidInput, match="VILA_DEMO_COUNT: cannot read '2.5' as int"):
        from_args(Unset, None, "VILA_DEMO_", {"VILA_DEMO_COUNT": "2.5"})


def test_the_cache_root_is_vila_stream_home_or_the_user_cache(tmp_path):
    assert cache_root({"VILA_STREAM_HOME": str(tmp_path)}) == tmp_path
    assert cache_root({"VILA_STREAM_HOME": "~/elsewhere"}) == Path.home() / "elsewhere"
    assert cache_root({}) == cache_root({"VILA_STREAM_HOME": ""}) == Path.home() / ".cache" / "vila-stream"
