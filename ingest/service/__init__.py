"""The ingest service: many streams per process -> Kafka ``vila.windows.v1`` and ``vila.events.v1``.

``settings`` (flags, environment, the streams file), ``streams`` (stream specs and the TOML
streams file), ``publisher`` (one stream: reader thread -> bounded queue -> sender thread),
``app`` (the process: start-up, wait, stop, stats).
"""
