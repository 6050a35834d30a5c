"""The summarizer: Kafka ``vila.results.v1``/``vila.events.v1`` → Redis timelines → gRPC ``vila.v1.Summaries``.

``consumer`` reads the topics and commits only after Redis acknowledged; ``store`` writes idempotently
by window id with the foundation's aggregation; ``reader`` and ``servicer`` serve what is stored;
``keys`` is the Redis key schema (documented in docs/redis-schema.md); ``app`` wires them together.
"""
