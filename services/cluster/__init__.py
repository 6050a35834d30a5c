"""Local services on loopback, without Docker: Kafka (on the JVM), Redis and the project's own deployables.

``ManagedProcess`` starts a process with a log file, waits until a probe says it serves and stops its whole process
group; ``KafkaBroker`` and ``RedisServer`` are the two backing services. The test fixtures
(tests/support/kafka.py, tests/support/redis_server.py) and ``vila-stream cluster up`` (launcher.py) use them.
"""
from services.cluster.kafka_broker import KAFKA_VERSION, KafkaBroker
from services.cluster.ports import free_port
from services.cluster.process import ManagedProcess
from services.cluster.redis_server import RedisServer

__all__ = ["KAFKA_VERSION", "KafkaBroker", "ManagedProcess", "RedisServer", "free_port"]
