"""Summarizer settings: bounds name the field; clients find the summarizer through ``client_address``."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.settings import from_args
from services.summarizer.settings import DEFAULT_ADDRESS, PREFIX, SummarizerSettings, client_address


def test_clients_find_a_default_summarizer_unless_the_environment_says_otherwise():
    assert DEFAULT_ADDRESS == SummarizerSettings().address == "127.0.0.1:50061"
    assert client_address({}) == client_address({"VILA_SUMMARIZER_ADDRESS": ""}) == DEFAULT_ADDRESS
    assert client_address({"VILA_SUMMARIZER_ADDRESS": "summarizer:50061"}) == "summarizer:50061"


@pytest.mark.parametrize("environ, message", [
    ({"VILA_SUMMARIZER_PORT": "70000"}, "port must be 0..65535"),
    ({"VILA_SUMMARIZER_SESSION_TIMEOUT_MS": "100"}, "session_timeout_ms must be >= 6000"),
    ({"VILA_REDIS_URL": "http://x"}, "redis_url must be a redis:// URL"),
])
def test_bad_values_name_the_setting(environ, message):
    with pytest.raises(InvalidInput, match=message):
        from_args(SummarizerSettings, None, PREFIX, environ)
