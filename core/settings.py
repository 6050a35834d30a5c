"""Service settings: one frozen dataclass per deployable, filled from flags, then environment, then defaults.

Every field maps one to one onto a command-line flag and an environment variable::

    field ``kafka_bootstrap``  ->  flag ``--kafka-bootstrap``  ->  env ``{prefix}KAFKA_BOOTSTRAP``

unless the field's metadata names a shared variable (``setting(env="VILA_KAFKA_BOOTSTRAP")``), which
lets several services read one variable in docker-compose. Precedence: flag > environment > default.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``tuple[str, ...]`` (comma-separated) and the
optional numbers ``int | None`` and ``float | None``, where None means "not set" and is spelled ``0`` (or an
empty value) on the command line and in the environment. A value that does not parse raises ``InvalidInput``
naming the variable or flag.

The one setting shared by every part of the project, the cache folder (``$VILA_STREAM_HOME``), is read here
too (``cache_root``), so that no other module reads the environment.

    @dataclass(frozen=True)
    class WorkerSettings:
        port: int = field(default=50051, metadata=setting("gRPC port"))

    parser = argparse.ArgumentParser()
    add_arguments(parser, WorkerSettings)
    settings = from_args(WorkerSettings, parser.parse_args(), prefix="VILA_WORKER_")
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

from core.errors import InvalidInput

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_UNSET = {"", "0"}  # how an optional number (``int | None``, ``float | None``) is left unset in text
HOME_ENV = "VILA_STREAM_HOME"


def setting(help: str, *, env: str | None = None) -> dict[str, Any]:
    """Field metadata: the help text, and optionally a shared environment variable name."""
    return {"help": help, "env": env}


def _fields(cls: type) -> list[tuple[dataclasses.Field, type]]:
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def env_name(field: dataclasses.Field, prefix: str) -> str:
    return field.metadata.get("env") or f"{prefix}{field.name.upper()}"


def env_names(cls: type, prefix: str) -> dict[str, str]:
    """``{field name: environment variable}`` for every setting of ``cls``."""
    return {f.name: env_name(f, prefix) for f, _ in _fields(cls)}


def _optional(kind: type) -> type | None:
    """``X`` for a field typed ``X | None``, else None."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return None


def _parse(kind: type, raw: str, source: str) -> Any:
    inner = _optional(kind)
    if inner is not None:
        return None if raw.strip() in _UNSET else _parse(inner, raw, source)
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(raw)
        if typing.get_origin(kind) is tuple:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return kind(raw)
    except ValueError:
        name = getattr(kind, "__name__", str(kind))
        raise InvalidInput(f"{source}: cannot read {raw!r} as {name}") from None


def add_arguments(parser: argparse.ArgumentParser, cls: type, prefix: str) -> None:
    """One flag per field; the default is ``None`` so that ``from_args`` can tell "not given" apart."""
    for field, kind in _fields(cls):
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
        shown = ",".join(default) if isinstance(default, tuple) else 0 if default is None else default
        help_text = f"{field.metadata.get('help', '')} (env {env_name(field, prefix)}, default {shown!r})"
        parser.add_argument(flag_name(field.name), dest=field.name, default=None, metavar=field.name.upper(),
                            help=help_text)


def from_args(cls: type[T], args: argparse.Namespace | None, prefix: str,
              environ: Mapping[str, str] | None = None) -> T:
    """Settings from parsed flags (may be None), then ``environ`` (default ``os.environ``), then defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field, kind in _fields(cls):
        raw = getattr(args, field.name, None) if args is not None else None
        source = flag_name(field.name)
        if raw is None:
            name = env_name(field, prefix)
            raw, source = environ.get(name), name
        if raw is None:
            continue
        values[field.name] = _parse(kind, raw, source) if isinstance(raw, str) else raw
    return cls(**values)  # type: ignore[call-arg]


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The project's cache folder (embedded model fallback, engines, Kafka's jars, the local cluster):
    ``$VILA_STREAM_HOME`` (``environ``, default ``os.environ``) or ``~/.cache/vila-stream``."""
    environ = os.environ if environ is None else environ
    home = environ.get(HOME_ENV)
    return Path(home).expanduser() if home else Path.home() / ".cache" / "vila-stream"
