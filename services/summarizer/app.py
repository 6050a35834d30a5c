"""The summarizer service: start-up reads as the list of its steps.

``python -m services.summarizer [--flags]`` (every flag also an environment variable, see
``settings``). Prints ``ready summarizer HOST:PORT`` on stderr once health says SERVING; SIGTERM or
SIGINT stops it gracefully (NOT_SERVING, open Watch calls end, the consumer finishes its batch and
commits, exit 0).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading

from core import topics
from core.settings import add_arguments, from_args
from core.transport import redis as redis_adapter
from core.signals import stop_event_on_signals
from core.startup import run_main
from core.transport.grpc_server import GrpcServer
from core.transport.kafka import ensure_topics
from core.transport.kafka_delivery import Delivery
from core.transport.kafka_group import GroupConsumer
from services.summarizer.consumer import ResultsConsumer
from services.summarizer.reader import SummaryReader
from services.summarizer.servicer import SERVICE, SummariesServicer
from services.summarizer.settings import PREFIX, SummarizerSettings
from services.summarizer.store import SummaryStore

log = logging.getLogger("vila.summarizer")

MIB = 1024 * 1024


async def serve(settings: SummarizerSettings) -> int:
    """Runs until SIGTERM/SIGINT (0) or until the consumer fails (1)."""
    stop = stop_event_on_signals()  # first, so that a SIGTERM during start-up still stops gracefully
    # 1. Redis answers.
    store_client = redis_adapter.connect(settings.redis_url)
    store = SummaryStore(store_client, summary_segments=settings.summary_segments,
                         events_kept=settings.events_kept, updates_kept=settings.updates_kept)
    # 2. Kafka answers and the topics exist.
    await asyncio.to_thread(ensure_topics, settings.kafka_bootstrap)
    # 3. The consumer group member and the DLQ producer.
    kafka_consumer = await asyncio.to_thread(
        GroupConsumer.open, settings.kafka_bootstrap, group_id=settings.group_id, client_id="vila-summarizer",
        topics=(topics.RESULTS, topics.EVENTS), max_poll_records=settings.max_poll_records,
        session_timeout_ms=settings.session_timeout_ms, heartbeat_interval_ms=settings.session_timeout_ms // 3)
    dlq = await asyncio.to_thread(Delivery, settings.kafka_bootstrap, client_id="vila-summarizer-dlq")
    consumer = ResultsConsumer(kafka_consumer, store, dlq=dlq, max_records=settings.max_poll_records)
    # 4. The gRPC server (NOT_SERVING until step 6).
    read_client = redis_adapter.connect_async(settings.redis_url)
    servicer = SummariesServicer(SummaryReader(read_client))
    server = GrpcServer(settings.address, [SERVICE.full_name], max_receive_bytes=4 * MIB, max_send_bytes=64 * MIB)
    server.add_servicer(servicer, SERVICE)
    await server.start()
    # 5. The consumer loop, in its own thread (kafka-python is blocking).
    stop_consuming = threading.Event()
    consuming = asyncio.create_task(asyncio.to_thread(consumer.run, stop_consuming))
    # 6. Serving.
    await server.set_serving()
    print(f"ready summarizer {server.target} (Kafka {settings.kafka_bootstrap}, "
          f"Redis {redis_adapter.shown(settings.redis_url)})",
          file=sys.stderr, flush=True)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({consuming, stopped}, return_when=asyncio.FIRST_COMPLETED)
    failed = consuming.done() and consuming.exception() is not None
    if failed:
        log.error("the consumer failed: %r", consuming.exception())
    # Shutdown: NOT_SERVING, end Watch calls, drain, then let the consumer finish and commit its batch.
    servicer.stopping.set()
    await server.stop(grace_s=settings.grace_s)
    stop_consuming.set()
    stopped.cancel()
    if not consuming.done():
        await consuming
    await asyncio.to_thread(kafka_consumer.close)
    await asyncio.to_thread(dlq.close, 5)
    await read_client.aclose()
    store_client.close()
    log.info("stopped (%s)", consumer.stats)
    return 1 if failed else 0


def parse_settings(argv: list[str] | None = None) -> SummarizerSettings:
    parser = argparse.ArgumentParser(
        prog="python -m services.summarizer",
        description="Kafka vila.results.v1/vila.events.v1 → Redis timelines, served as vila.v1.Summaries.")
    add_arguments(parser, SummarizerSettings, PREFIX)
    return from_args(SummarizerSettings, parser.parse_args(argv), PREFIX)


def main(argv: list[str] | None = None) -> int:
    return run_main("vila-summarizer", parse_settings, serve, argv)
