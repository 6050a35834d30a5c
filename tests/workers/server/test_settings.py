"""WorkerSettings: flags > VILA_WORKER_* env > defaults, validation naming the field, tier overrides."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.settings import env_names
from workers.server.settings import PREFIX, WorkerSettings, parse_settings


def test_defaults_env_and_flags():
    assert parse_settings([], {}) == WorkerSettings()
    env = {"VILA_WORKER_PORT": "6000", "VILA_MODEL": "/models/vila", "VILA_WORKER_TIER": "cloud",
           "VILA_WORKER_WARMUP": "false", "VILA_WORKER_MAX_QUEUE": "3"}
    settings = parse_settings(["--port", "7000"], env)
    assert (settings.port, settings.model, settings.tier, settings.warmup, settings.max_queue) == (
        7000, "/models/vila", "cloud", False, 3)
    assert settings.address == "127.0.0.1:7000"


def test_every_field_has_one_variable():
    names = env_names(WorkerSettings, PREFIX)
    assert names["model"] == "VILA_MODEL"
    assert all(v == PREFIX + k.upper() for k, v in names.items() if k != "model")


@pytest.mark.parametrize("env, field", [
    ({"VILA_WORKER_TIER": "gpu"}, "tier"),
    ({"VILA_WORKER_PORT": "70000"}, "port"),
    ({"VILA_WORKER_MAX_QUEUE": "0"}, "max_queue"),
    ({"VILA_WORKER_MAX_BATCH_SIZE": "-2"}, "max_batch_size"),
    ({"VILA_WORKER_MAX_WAIT_MS": "-5"}, "max_wait_ms"),
    ({"VILA_WORKER_MAX_MESSAGE_MB": "0"}, "max_message_mb"),
    ({"VILA_WORKER_MAX_NEW_TOKENS": "100000"}, "max_new_tokens"),
    ({"VILA_WORKER_WARMUP": "sometimes"}, "VILA_WORKER_WARMUP"),
    ({"VILA_WORKER_QUANTIZATION": "int3"}, "quantization"),
    ({"VILA_WORKER_VISION_BACKEND": "magic"}, "vision_backend"),
])
def test_invalid_values_name_the_field(env, field):
    with pytest.raises(InvalidInput, match=field):
        parse_settings([], env)


def test_the_tier_supplies_what_is_left_at_its_default():
    edge = WorkerSettings(tier="edge").resolve_tier(cuda_available=False)
    assert (edge.frames_per_window, edge.max_new_tokens, edge.max_batch_size, edge.max_wait_ms) == (4, 32, 4, 50)
    assert (edge.device, edge.dtype) == ("cpu", "float32")
    cloud = WorkerSettings(tier="cloud").resolve_tier(cuda_available=False)
    assert (cloud.frames_per_window, cloud.device, cloud.dtype) == (8, "cpu", "float32")
    assert WorkerSettings(tier="cloud").resolve_tier(cuda_available=True).dtype == "bfloat16"


def test_overrides_replace_the_tiers_values():
    tier = WorkerSettings(max_batch_size=2, max_wait_ms=0, frames_per_window=3, max_new_tokens=9,
                          dtype="bfloat16").resolve_tier(cuda_available=False)
    assert (tier.max_batch_size, tier.max_wait_ms, tier.frames_per_window, tier.max_new_tokens, tier.dtype) == (
        2, 0, 3, 9, "bfloat16")
    assert tier.frames_set and tier.fitted(1).frames_per_window == 3  # the operator's count, kept for any model
    assert not WorkerSettings().resolve_tier(cuda_available=False).frames_set


def test_the_transport_admits_twice_the_logical_message_limit():
    settings = WorkerSettings(max_message_mb=1.5)
    assert settings.max_message_bytes == 1536 * 1024
    assert settings.transport_message_bytes == 2 * settings.max_message_bytes
