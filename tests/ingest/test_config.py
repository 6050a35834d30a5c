"""IngestConfig validation: every bad value is an InvalidInput naming the field and its bound."""
import pytest

from ingest import IngestConfig
from core.errors import InvalidInput


@pytest.mark.parametrize("kwargs,message", [
    (dict(window_seconds=0), "window_seconds must be > 0"),
    (dict(window_seconds=-1.0), "window_seconds must be > 0 and <= 3600"),
    (dict(stride_seconds=9.0), "stride_seconds must be > 0 and <= 8"),
    (dict(stride_seconds=0.0), "stride_seconds must be > 0"),
    (dict(frames_per_window=0), "frames_per_window must be >= 1"),
    (dict(frames_per_window=2.5), "frames_per_window must be an integer"),
    (dict(fps=0.0), "fps must be > 0"),
    (dict(fps=None, frames_per_window=None), "set at least one"),
    (dict(max_side=8), "max_side must be >= 16"),
    (dict(jpeg_quality=101), "jpeg_quality must be >= 1 and <= 100"),
    (dict(max_seconds=0), "max_seconds must be > 0"),
    (dict(open_timeout_s=0), "open_timeout_s must be > 0"),
    (dict(read_timeout_s=float("nan")), "read_timeout_s must be a number"),
    (dict(max_open_attempts=0), "max_open_attempts must be >= 1"),
    (dict(backoff_initial_s=2.0, backoff_max_s=1.0), "backoff_max_s must be >= backoff_initial_s"),
    (dict(backoff_multiplier=0.5), "backoff_multiplier must be >= 1"),
    (dict(window_seconds="8"), "window_seconds must be a number"),
    (dict(max_side=True), "max_side must be an integer"),
])
def test_bad_values_name_the_field_and_bound(kwargs, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        IngestConfig(**kwargs)


def test_defaults_and_stride():
    config = IngestConfig()
    assert config.stride == config.window_seconds == 8.0
    assert IngestConfig(window_seconds=4.0, stride_seconds=1.0).stride == 1.0
    assert IngestConfig(fps=2.0, frames_per_window=None).fps == 2.0
