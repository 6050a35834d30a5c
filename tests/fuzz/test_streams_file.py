"""Fuzz the streams file (``ingest.service.streams.load_streams_file``), the TOML an operator writes.

Every file either gives streams an ingest can run (ids by the rule, a source, a valid ``IngestConfig``) or
``InvalidInput`` with one line naming the file and the problem (``vila-stream ingest`` exits 2 with it).
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.ids import stream_id_problem
from ingest.config import IngestConfig
from ingest.service.streams import load_streams_file
from tests.fuzz.strategies import FUZZ, ids, mutated

VALID = b'[defaults]\nmax_side = 320\n\n[[stream]]\nid = "gate"\nsource = "rtsp://10.0.0.7/gate"\n' \
        b'stride_seconds = 1.5\n\n[[stream]]\nid = "yard.2"\nsource = "/videos/yard.mkv"\nfps = 2\n'
KEYS = [f.name for f in dataclasses.fields(IngestConfig)] + ["id", "source", "windw_seconds", ""]
values = st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.text(max_size=20), ids, st.lists(st.integers(0, 9), max_size=3))


def toml_value(value) -> str:
    """``value`` as TOML (the subset drawn here)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


@st.composite
def documents(draw) -> bytes:
    """A TOML document of [defaults] and [[stream]] tables (and sometimes other tables) with drawn keys."""
    lines = []
    for table in draw(st.lists(st.sampled_from(["[defaults]", "[[stream]]", "[[stream]]", "[other]", "stream = 1"]),
                               max_size=4)):
        lines.append(table)
        for key, value in draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=5)).items():
            lines.append(f"{json.dumps(key)} = {toml_value(value)}")
    return "\n".join(lines).encode()


def test_streams_files(tmp_path_factory):
    seen = Counter()

    @FUZZ
    @given(st.one_of(documents(), mutated(VALID), st.binary(max_size=200)))
    def fuzz(raw):
        path = tmp_path_factory.mktemp("streams") / "streams.toml"
        path.write_bytes(raw)
        try:
            specs = load_streams_file(path, IngestConfig())
        except InvalidInput as exc:
            message = str(exc)
            assert message.startswith(str(path)) and "\n" not in message and len(message) < 600, message
            seen["InvalidInput"] += 1
            return
        seen["loaded"] += 1
        assert specs
        for spec in specs:
            assert stream_id_problem(spec.stream_id) is None and spec.source.strip()
            assert isinstance(spec.ingest, IngestConfig)

    fuzz()
    print(f"fuzz streams files: {sum(seen.values())} inputs, {dict(seen)}")
    assert seen["loaded"] and seen["InvalidInput"]
