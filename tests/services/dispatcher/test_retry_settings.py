"""Retry classification and delays, and the dispatcher's settings validation (pure)."""
from __future__ import annotations

import random

import pytest

from core.errors import InvalidInput
from core.labels import DEFAULT_ACTION_LABELS
from core.errors import from_remote
from services.dispatcher.retry import RetryPolicy
from services.dispatcher.settings import DispatcherSettings, parse_settings


def test_only_not_now_failures_are_retried():
    retried = [("UNAVAILABLE", "failed to connect to all addresses"),
               ("UNAVAILABLE", "unavailable: the model is still loading"),
               ("RESOURCE_EXHAUSTED", "overloaded: the worker's queue is full"),
               ("DEADLINE_EXCEEDED", "Deadline Exceeded")]
    final = [("INVALID_ARGUMENT", "invalid-request: frame 1 is not a decodable JPEG"),
             ("INTERNAL", "internal: KeyError: 'x'"), ("FAILED_PRECONDITION", "model: no weights"),
             # gRPC's own size limit is no "not now": the same window is as large on every try
             ("RESOURCE_EXHAUSTED", "Received message larger than max (40000000 vs. 33554432)")]
    assert all(from_remote(code, detail).retryable for code, detail in retried)
    assert not any(from_remote(code, detail).retryable for code, detail in final)


def test_delays_grow_exponentially_up_to_the_cap():
    policy = RetryPolicy(retries=10, initial_s=0.1, maximum_s=1.0)
    rng = random.Random(1)
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    for attempt, ceiling in enumerate(ceilings):
        for _ in range(50):
            assert 0.05 <= policy.delay(attempt, rng) <= ceiling + 1e-9


def test_settings_from_flags_and_environment():
    s = parse_settings(["--stream-tiers", "cam1=cloud", "--max-in-flight", "8"],
                       {"VILA_KAFKA_BOOTSTRAP": "h:1", "VILA_DISPATCHER_EDGE_WORKERS": "a:1,b:2"})
    assert s.kafka_bootstrap == "h:1" and s.edge_workers == ("a:1", "b:2") and s.max_in_flight == 8
    assert s.router().tier_for("cam1") == "cloud"
    assert s.labels == DEFAULT_ACTION_LABELS


@pytest.mark.parametrize("kwargs, message", [
    ({"max_in_flight": 0}, "max_in_flight"), ({"edge_workers": ("nohost",)}, "not host:port"),
    ({"cloud_workers": (), "stream_tiers": "cam1=cloud"}, "cloud_workers"),
    ({"cloud_workers": (), "escalate": "activity>=0.5"}, "cloud_workers"),
    ({"escalate": "bogus"}, "unknown clause"), ({"retry_backoff_max_ms": 10}, "retry_backoff_max_ms"),
])
def test_bad_settings_name_the_field(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        DispatcherSettings(**kwargs)


def test_worst_case_window_time_covers_every_try_and_the_escalation():
    s = DispatcherSettings(retries=2, request_timeout_s=10, retry_backoff_ms=100, retry_backoff_max_ms=1000)
    assert s.worst_case_window_s() == 2 * (3 * 10 + 2 * 1.0)
