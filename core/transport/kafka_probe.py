"""Kafka health probes for launchers and health checks: does the broker serve metadata, does a group consume.

Plain answers, never an exception: ``broker_state`` / ``group_state`` return "OK", "NO_MEMBERS" (a group
nobody consumes in) or "UNREACHABLE" (no answer within the timeout).
"""
from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

OK, NO_MEMBERS, UNREACHABLE = "OK", "NO_MEMBERS", "UNREACHABLE"


def group_state(bootstrap: str, group: str = "", timeout_s: float = 3.0, *, client_id: str = "vila-probe") -> str:
    """"OK" when the broker answers and, if ``group`` is given, that group is Stable with members."""
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                                 bootstrap_timeout_ms=timeout_ms, client_id=client_id)
    except KafkaError:
        return UNREACHABLE
    try:
        if not group:
            admin.list_topics()
            return OK
        info = admin.describe_groups([group]).get(group, {})
    except KafkaError:
        return UNREACHABLE if not group else NO_MEMBERS  # an unknown group has no coordinator yet
    finally:
        admin.close()
    return OK if info.get("group_state") == "Stable" and info.get("members") else NO_MEMBERS
