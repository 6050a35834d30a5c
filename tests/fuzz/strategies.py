"""Hypothesis strategies for hostile input at the edges: records, requests, files.

Three kinds of input, as an attacker or a broken producer sends them:

- ``noise``: random bytes, and valid encodings cut short, bit-flipped, spliced or padded (``mutated``);
- ``absurd_window_pb`` / ``absurd_result_pb``: messages that parse but whose fields are absurd (no frames or
  hundreds, NaN / infinite / negative / reversed times, empty, huge or binary stream ids, garbage JPEG);
- ``texts``: what a person can type into a file (for the TOML parsers).

Every fuzz test draws a bounded number of inputs (``EXAMPLES``, 200 in ``make test``; ``VILA_FUZZ_EXAMPLES``
raises it, as ``python -m bench.fuzz`` does), derandomized so that a failure reproduces.
"""
from __future__ import annotations

import io
import math
import os

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from vila.v1 import media_pb2, results_pb2

EXAMPLES = int(os.environ.get("VILA_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _jpeg(width: int, height: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 255 - shade, 90)).save(out, format="JPEG")
    return out.getvalue()


GOOD_JPEG = _jpeg(32, 24, 60)

# floats as producers get them wrong: NaN, infinities, negatives, huge, tiny, and ordinary seconds
times = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1e4),
                  st.sampled_from([0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e308, 5e-324]))
unit = st.one_of(st.floats(0, 1), st.floats(allow_nan=True, allow_infinity=True))
ids = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9-]{0,12}\Z"),  # well formed
    st.text(max_size=40),  # anything printable or not, including empty
    st.sampled_from(["", " ", "a b", "cam\n1", "../../etc", "x" * 129, "x" * 100_000, "\x00", "é" * 10,
                     "cam:1", "{cam}", "*"]),
)


def jpegs() -> st.SearchStrategy[bytes]:
    """A good JPEG, nothing, noise, a JPEG cut short or flipped, or a big image."""
    return st.one_of(
        st.just(GOOD_JPEG), st.just(b""), st.binary(max_size=64),
        st.integers(1, len(GOOD_JPEG) - 1).map(lambda n: GOOD_JPEG[:n]),
        mutated(GOOD_JPEG),
        st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda s: _jpeg(s[0], s[1], 10)),
        st.just(_jpeg(1920, 1080, 200)),
    )


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` damaged the ways a wire or a disk damages bytes."""
    data = bytearray(valid)
    how = draw(st.sampled_from(["truncate", "flip", "splice", "pad", "zero"]))
    if how == "truncate" or not data:
        return bytes(data[:draw(st.integers(0, max(0, len(data) - 1)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if how == "splice":
        i = draw(st.integers(0, len(data)))
        return bytes(data[:i] + draw(st.binary(min_size=1, max_size=32)) + data[i:])
    if how == "pad":
        return bytes(data) + draw(st.binary(min_size=1, max_size=64))
    i = draw(st.integers(0, len(data) - 1))
    j = draw(st.integers(i, min(len(data), i + 64)))
    data[i:j] = bytes(j - i)
    return bytes(data)


@st.composite
def absurd_window_pb(draw, max_frames: int = 12) -> media_pb2.FrameWindow:
    """A FrameWindow that parses, with any field absurd (or all of them fine)."""
    frames = draw(st.lists(st.builds(
        media_pb2.Frame, jpeg=jpegs(), pts=times, width=st.integers(0, 2**32 - 1),
        height=st.integers(0, 2**32 - 1)), max_size=max_frames))
    return media_pb2.FrameWindow(
        stream_id=draw(ids), window_id=draw(ids), seq=draw(st.integers(0, 2**64 - 1)),
        start=draw(times), end=draw(times), frames=frames, source=draw(st.text(max_size=30)),
        activity=draw(unit), origin_unix=draw(times), partial=draw(st.booleans()))


@st.composite
def absurd_result_pb(draw) -> results_pb2.WindowResult:
    """A WindowResult that parses, with any field absurd."""
    actions = draw(st.lists(st.builds(results_pb2.ActionScore, label=st.text(max_size=20), score=unit),
                            max_size=10))
    return results_pb2.WindowResult(
        window=results_pb2.WindowRef(stream_id=draw(ids), window_id=draw(ids),
                                     seq=draw(st.integers(0, 2**64 - 1)), start=draw(times), end=draw(times)),
        tier=draw(st.sampled_from(["edge", "cloud", "", "moon", "x" * 300])), model_id=draw(st.text(max_size=20)),
        caption=draw(st.one_of(st.text(max_size=80), st.just("c" * 200_000))), actions=actions,
        activity=draw(unit), latency_ms=draw(times), error=draw(st.text(max_size=30)),
        thumbnail_jpeg=draw(jpegs()))


def noise(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, or ``valid`` damaged."""
    return st.one_of(st.binary(max_size=256), mutated(valid))


def drawn(strategy: st.SearchStrategy, count: int = EXAMPLES) -> list:
    """``count`` inputs from ``strategy`` as the fuzzers draw them (derandomized), for a test that sends them
    all at once (records onto a topic) instead of one call per input."""
    found: list = []

    @settings(FUZZ, max_examples=count, phases=[Phase.generate])
    @given(strategy)
    def collect(value) -> None:
        found.append(value)

    collect()
    return found
