"""``DispatcherSettings``: flags > ``VILA_DISPATCHER_*`` env > defaults (read here and nowhere else).

Tiers are the names of ``core.tiers.TIER_NAMES``; each has a ``<tier>_workers`` setting.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Mapping

from core.errors import InvalidInput
from core.labels import DEFAULT_ACTION_LABELS
from core.settings import add_arguments, from_args, setting
from core.tiers import DEFAULT_TIER, TIER_NAMES, check_tier, escalation_target
from services.dispatcher.escalation import EscalationRule, parse_rule
from services.dispatcher.retry import RetryPolicy
from services.dispatcher.routing import TierRouter, parse_stream_tiers

PREFIX = "VILA_DISPATCHER_"


@dataclass(frozen=True)
class DispatcherSettings:
    """One dispatcher process (any number may share a group: Kafka splits the partitions)."""

    kafka_bootstrap: str = field(default="127.0.0.1:19092", metadata=setting(
        "Kafka bootstrap servers, host:port[,host:port]", env="VILA_KAFKA_BOOTSTRAP"))
    group_id: str = field(default="vila-dispatcher", metadata=setting("Kafka consumer group"))
    edge_workers: tuple[str, ...] = field(default=("127.0.0.1:50051",), metadata=setting(
        "edge-tier worker addresses, comma-separated host:port"))
    cloud_workers: tuple[str, ...] = field(default=("127.0.0.1:50052",), metadata=setting(
        "cloud-tier worker addresses, comma-separated host:port (empty: no cloud tier)"))
    default_tier: str = field(default=DEFAULT_TIER, metadata=setting("tier of streams not in stream_tiers"))
    stream_tiers: str = field(default="", metadata=setting("per-stream tiers, e.g. cam1=cloud,cam2=edge"))
    escalate: str = field(default="", metadata=setting(
        "edge->cloud escalation rule, e.g. 'action:a person walking>=0.5; caption:fire|smoke' (empty: never)"))
    labels: tuple[str, ...] = field(default=DEFAULT_ACTION_LABELS, metadata=setting(
        "candidate action labels scored for every window, comma-separated"))
    max_in_flight: int = field(default=32, metadata=setting(
        "windows being processed at once, 1..4096 (lets workers batch)"))
    retries: int = field(default=6, metadata=setting(
        "extra tries of a window on a retryable worker failure (unavailable, overloaded, deadline), 0..100"))
    retry_backoff_ms: int = field(default=200, metadata=setting("first retry delay in ms (doubles per try)"))
    retry_backoff_max_ms: int = field(default=5000, metadata=setting("largest retry delay in ms"))
    request_timeout_s: float = field(default=60.0, metadata=setting("deadline of one worker call, seconds"))
    session_timeout_ms: int = field(default=30000, metadata=setting(
        "Kafka group session timeout, ms (6000..300000): how soon a dead dispatcher's partitions move on"))
    send_timeout_s: float = field(default=30.0, metadata=setting(
        "how long Kafka may hold a result unacknowledged before it is sent again (never given up), >= 1"))
    internal_retries: int = field(default=2, metadata=setting(
        "extra tries of a window whose handling raised an unexpected error (a bug), 0..10; then DLQ 'internal'"))

    def __post_init__(self) -> None:
        checks = [
            ("max_in_flight", 1 <= self.max_in_flight <= 4096, "in 1..4096"),
            ("retries", 0 <= self.retries <= 100, "in 0..100"),
            ("retry_backoff_ms", self.retry_backoff_ms >= 1, ">= 1"),
            ("retry_backoff_max_ms", self.retry_backoff_max_ms >= self.retry_backoff_ms, ">= retry_backoff_ms"),
            ("request_timeout_s", self.request_timeout_s > 0, "> 0"),
            ("session_timeout_ms", 6000 <= self.session_timeout_ms <= 300000, "in 6000..300000"),
            ("internal_retries", 0 <= self.internal_retries <= 10, "in 0..10"),
            ("send_timeout_s", self.send_timeout_s >= 1, ">= 1"),
        ]
        for name, ok, bound in checks:
            if not ok:
                raise InvalidInput(f"{name}: must be {bound}, got {getattr(self, name)!r}")
        if not self.group_id:
            raise InvalidInput("group_id: must not be empty")
        if not self.labels:
            raise InvalidInput("labels: at least one action label is needed")
        for name in ("edge_workers", "cloud_workers"):
            for address in getattr(self, name):
                host, sep, port = address.rpartition(":")
                if not sep or not host or not port.isdigit():
                    raise InvalidInput(f"{name}: {address!r} is not host:port")
        router = self.router()  # validates default_tier and stream_tiers
        tiers_used = {router.default, *router.streams.values()}
        if self.rule():
            tiers_used |= {escalation_target(t) for t in tiers_used} - {None}
        for tier in tiers_used:
            if not self.workers(tier):
                raise InvalidInput(f"{tier}_workers: streams are routed to the {tier} tier but it has no workers")

    def router(self) -> TierRouter:
        return TierRouter(self.default_tier, parse_stream_tiers(self.stream_tiers))

    def rule(self) -> EscalationRule:
        return parse_rule(self.escalate)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.retries, self.retry_backoff_ms / 1000.0, self.retry_backoff_max_ms / 1000.0)

    def worst_case_window_s(self) -> float:
        """The longest one window can take: every try timing out, with the longest waits between them,
        twice over when it is escalated."""
        tries = self.retries + 1
        return 2 * (tries * self.request_timeout_s + self.retries * self.retry_backoff_max_ms / 1000.0)

    def workers(self, tier: str) -> tuple[str, ...]:
        """The addresses of ``tier``'s workers (the ``<tier>_workers`` setting)."""
        return getattr(self, f"{check_tier(tier)}_workers")

    def worker_tiers(self) -> dict[str, tuple[str, ...]]:
        """Every tier that has workers, in ``TIER_NAMES`` order, with their addresses."""
        return {tier: self.workers(tier) for tier in TIER_NAMES if self.workers(tier)}


def parse_settings(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> DispatcherSettings:
    parser = argparse.ArgumentParser(prog="python -m services.dispatcher",
                                     description="Kafka windows -> gRPC workers -> Kafka results.")
    add_arguments(parser, DispatcherSettings, PREFIX)
    return from_args(DispatcherSettings, parser.parse_args(argv), PREFIX, environ)
