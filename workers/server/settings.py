"""``WorkerSettings``: everything a worker process is configured with (flags > ``VILA_WORKER_*`` env > defaults).

The environment is read here and nowhere else (``from_args``). Fields whose default is "the tier's"
(``device``, ``dtype``, ``quantization``, ``vision_backend``, ``max_batch_size``, ``max_wait_ms``,
``frames_per_window``, ``max_new_tokens``) take their value from the tier profile (``workers.tiers``)
when left at that default; ``resolve_tier`` returns the profile with the overrides applied.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from typing import Mapping

from core.errors import InvalidInput
from core.settings import add_arguments, from_args, setting
from workers.engine.limits import MAX_NEW_TOKENS_LIMIT, EngineLimits
from workers.tiers import TIERS, TierProfile, get_tier

PREFIX = "VILA_WORKER_"
_LIMITS = EngineLimits()  # the engine's defaults, declared there once


@dataclass(frozen=True)
class WorkerSettings:
    """One worker process. Bounds are checked in ``__post_init__`` (InvalidInput naming the field)."""

    host: str = field(default="127.0.0.1", metadata=setting("address to listen on"))
    port: int = field(default=50051, metadata=setting("gRPC port (0 = any free port)"))
    tier: str = field(default="edge", metadata=setting("tier profile: edge or cloud"))
    model: str = field(default="", metadata=setting("VILA checkpoint directory (empty = the embedded default model)",
                                                    env="VILA_MODEL"))
    device: str = field(default="", metadata=setting("torch device, e.g. cpu or cuda:0 (empty = the tier's)"))
    dtype: str = field(default="", metadata=setting("float32, bfloat16 or float16 (empty = the tier's)"))
    quantization: str = field(default="", metadata=setting("LLM weight quantisation (empty = the tier's)"))
    vision_backend: str = field(default="", metadata=setting("torch, onnx or tensorrt (empty = the tier's)"))
    max_batch_size: int = field(default=0, metadata=setting("windows per model call, >= 0 (0 = the tier's)"))
    max_wait_ms: int = field(default=-1, metadata=setting(
        "how long the first request of a batch waits for others, ms (-1 = the tier's, 0 = never wait)"))
    max_queue: int = field(default=_LIMITS.max_queue, metadata=setting(
        "requests waiting for the model, >= 1; more are refused with RESOURCE_EXHAUSTED"))
    max_message_mb: float = field(default=16.0, metadata=setting(
        "largest request in MiB; larger ones get INVALID_ARGUMENT (beyond twice this, gRPC's RESOURCE_EXHAUSTED)"))
    max_frames: int = field(default=_LIMITS.max_frames, metadata=setting(
        "frames accepted per window before sampling; more get INVALID_ARGUMENT"))
    frames_per_window: int = field(default=0, metadata=setting(
        "frames given to the model per window (0 = the tier's, at most the model's num_video_frames)"))
    max_new_tokens: int = field(default=0, metadata=setting(
        "default token budget of captions and answers (0 = the tier's)"))
    summary_max_new_tokens: int = field(default=_LIMITS.summary_max_new_tokens,
                                        metadata=setting("default token budget of SummarizeText"))
    warmup: bool = field(default=True, metadata=setting("run one synthetic window before reporting SERVING"))
    grace_s: float = field(default=10.0, metadata=setting("seconds in-flight requests get to finish on shutdown"))

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise InvalidInput(f"tier: unknown tier {self.tier!r}; valid tiers: {', '.join(sorted(TIERS))}")
        if not 0 <= self.port <= 65535:
            raise InvalidInput(f"port: must be in 0..65535, got {self.port}")
        if not self.host:
            raise InvalidInput("host: must not be empty")
        checks = [
            ("max_batch_size", self.max_batch_size >= 0, ">= 0"),
            ("max_wait_ms", self.max_wait_ms >= -1, ">= -1"),
            ("max_queue", self.max_queue >= 1, ">= 1"),
            ("max_message_mb", 0 < self.max_message_mb <= 1024, "in (0, 1024]"),
            ("max_frames", self.max_frames >= 1, ">= 1"),
            ("frames_per_window", self.frames_per_window >= 0, ">= 0"),
            ("max_new_tokens", 0 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT, f"in 0..{MAX_NEW_TOKENS_LIMIT}"),
            ("summary_max_new_tokens", 1 <= self.summary_max_new_tokens <= MAX_NEW_TOKENS_LIMIT,
             f"in 1..{MAX_NEW_TOKENS_LIMIT}"),
            ("grace_s", self.grace_s >= 0, ">= 0"),
        ]
        for name, ok, bound in checks:
            if not ok:
                raise InvalidInput(f"{name}: must be {bound}, got {getattr(self, name)!r}")
        self.resolve_tier(cuda_available=False)  # the profile's own checks (quantization, vision backend)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def engine_limits(self) -> EngineLimits:
        return EngineLimits(max_frames=self.max_frames, max_queue=self.max_queue,
                            summary_max_new_tokens=self.summary_max_new_tokens)

    @property
    def max_message_bytes(self) -> int:
        """The logical request size limit (INVALID_ARGUMENT above it)."""
        return int(self.max_message_mb * 1024 * 1024)

    @property
    def transport_message_bytes(self) -> int:
        """gRPC's own limit: twice the logical one, so an oversized request still reaches the size check."""
        return 2 * self.max_message_bytes

    def resolve_tier(self, *, cuda_available: bool | None = None) -> TierProfile:
        """The tier profile with this worker's overrides applied (device/dtype resolved for this machine).

        InvalidInput (from the profile's own checks) for an unknown quantization or vision backend.
        """
        base = get_tier(self.tier, cuda_available=cuda_available)
        overrides = {
            "device": self.device, "dtype": self.dtype, "quantization": self.quantization,
            "vision_backend": self.vision_backend, "max_batch_size": self.max_batch_size,
            "frames_per_window": self.frames_per_window, "max_new_tokens": self.max_new_tokens,
        }
        changed = {k: v for k, v in overrides.items() if v not in ("", 0)}
        if self.frames_per_window:
            changed["frames_set"] = True
        if self.max_wait_ms >= 0:
            changed["max_wait_ms"] = self.max_wait_ms
        return replace(base, **changed).resolved(cuda_available)


def parse_settings(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> WorkerSettings:
    """Settings from ``argv`` (flags, ``--help``) and ``environ`` (default ``os.environ``)."""
    parser = argparse.ArgumentParser(
        prog="python -m workers",
        description="vila.v1.Inference gRPC worker: VILA model with dynamic batching, health and reflection.")
    add_arguments(parser, WorkerSettings, PREFIX)
    return from_args(WorkerSettings, parser.parse_args(argv), PREFIX, environ)
