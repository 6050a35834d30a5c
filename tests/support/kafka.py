"""Kafka fixtures: ``kafka_broker``, one real single-node Kafka (KRaft, on the JVM) for the whole test session, and
``own_kafka_broker``, a module's own that its tests may take down (outages).

Use ``kafka_broker.bootstrap`` ("127.0.0.1:PORT") as ``bootstrap_servers``. Topics are not created automatically:
create them (``ensure_topics``) or use unique names per test. ``kafka_broker.restart()`` stops and starts it on the
same port with its data kept (fault tests); ``kafka_broker.kill()`` then ``.start()`` simulates a crash.
Skipped, with the reason, only when Java or Kafka's jars are missing (``make test`` installs them).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from services.cluster import KafkaBroker, free_port
from core.errors import MissingDependency

__all__ = ["kafka_broker", "own_kafka_broker"]

KAFKA_START_TIMEOUT_S = 120.0  # the JVM starts in seconds, but the test machines' two cores are shared


def _running_broker(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[KafkaBroker]:
    try:
        broker = KafkaBroker(tmp_path_factory.mktemp(name), port=free_port(), controller_port=free_port(),
                             die_with_parent=True)
    except MissingDependency as exc:
        pytest.skip(str(exc))
    broker.start(KAFKA_START_TIMEOUT_S)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    yield from _running_broker(tmp_path_factory, "kafka")


@pytest.fixture(scope="module")
def own_kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker of the module's own, which its tests may stop and restart (outages) without touching the
    session's; it is running again at the end of each test that uses it."""
    yield from _running_broker(tmp_path_factory, "own-kafka")
