"""Settings: flag > environment > default, one env name per field, typed parse errors."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from core.errors import InvalidInput
from core.settings import add_arguments, env_names, from_args, setting


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
