"""Stream specs: which sources to ingest, under which ids, with which windowing.

A streams file is TOML (read with the standard library's ``tomllib``)::

    [defaults]                 # optional: ingest settings for every stream
    window_seconds = 4
    frames_per_window = 4

    [[stream]]
    id = "door"
    source = "rtsp://camera.local:8554/door"

    [[stream]]
    id = "lobby-recording"
    source = "/videos/lobby.mp4"
    window_seconds = 2         # a per-stream override

Keys of ``[defaults]`` and of a ``[[stream]]`` (besides ``id`` and ``source``) are the fields of
``ingest.IngestConfig``. Errors are ``InvalidInput`` naming the file and the line (TOML syntax)
or the key (``door.windw_seconds: unknown key``).
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ingest.config import IngestConfig
from core.errors import InvalidInput
from core.ids import stream_id_problem

INGEST_KEYS = frozenset(f.name for f in dataclasses.fields(IngestConfig))


@dataclass(frozen=True)
class StreamSpec:
    stream_id: str
    source: str
    ingest: IngestConfig


def check_stream_id(stream_id: str, where: str) -> str:
    """``stream_id``, or InvalidInput naming ``where`` when it breaks ``core.ids.STREAM_ID_RULE`` (a stream id
    is a Kafka key and part of Redis keys)."""
    if problem := stream_id_problem(stream_id):
        raise InvalidInput(f"{where}: {problem}")
    return stream_id


def ingest_config(base: IngestConfig, overrides: Mapping[str, Any], where: str) -> IngestConfig:
    """``base`` with ``overrides`` applied; InvalidInput naming ``where`` and the bad key or value."""
    for key in overrides:
        if key not in INGEST_KEYS:
            raise InvalidInput(f"{where}.{key}: unknown key (valid: id, source, {', '.join(sorted(INGEST_KEYS))})")
    try:
        return dataclasses.replace(base, **overrides)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    except TypeError as exc:
        raise InvalidInput(f"{where}: {exc}") from None


def load_streams_file(path: str | Path, base: IngestConfig) -> list[StreamSpec]:
    """The streams of a TOML streams file (see the module docstring)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: streams file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the streams file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"defaults", "stream"}
    if unknown:
        raise InvalidInput(f"{path}: unknown table {sorted(unknown)[0]!r} (expected [defaults] and [[stream]])")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InvalidInput(f"{path}: defaults must be a table ([defaults])")
    base = ingest_config(base, defaults, f"{path}: defaults")
    entries = data.get("stream", [])
    if not isinstance(entries, list) or not entries:
        raise InvalidInput(f"{path}: no streams (add [[stream]] tables with id and source)")
    specs = []
    for index, entry in enumerate(entries):
        where = f"{path}: stream[{index}]"
        entry = dict(entry)
        stream_id, source = entry.pop("id", None), entry.pop("source", None)
        if stream_id is None or source is None:
            raise InvalidInput(f"{where}: needs both id and source")
        where = f"{path}: {stream_id}"
        check_stream_id(stream_id, where)
        if not isinstance(source, str) or not source.strip():
            raise InvalidInput(f"{where}.source: must be a non-empty string")
        specs.append(StreamSpec(stream_id, source, ingest_config(base, entry, where)))
    return specs


def parse_pairs(pairs: Iterable[str], base: IngestConfig, where: str) -> list[StreamSpec]:
    """``ID=SOURCE`` entries (the ``streams`` setting) as specs."""
    specs = []
    for pair in pairs:
        stream_id, sep, source = pair.partition("=")
        if not sep or not source.strip():
            raise InvalidInput(f"{where}: {pair!r} is not ID=SOURCE")
        specs.append(StreamSpec(check_stream_id(stream_id.strip(), where), source.strip(), base))
    return specs


def check_unique(specs: list[StreamSpec]) -> list[StreamSpec]:
    """InvalidInput when two streams share an id (their windows would interleave under one key)."""
    seen: set[str] = set()
    for spec in specs:
        if spec.stream_id in seen:
            raise InvalidInput(f"stream id {spec.stream_id!r} is given twice")
        seen.add(spec.stream_id)
    if not specs:
        raise InvalidInput("no streams: give --source SOURCE --stream-id ID, --streams ID=SOURCE or --config FILE")
    return specs
