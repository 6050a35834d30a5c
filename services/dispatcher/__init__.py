"""The dispatcher: Kafka ``vila.windows.v1`` -> gRPC workers -> Kafka ``vila.results.v1``.

Pure parts: ``routing`` (which tier a stream goes to), ``escalation`` (when an edge result is
sent on to the cloud tier), ``offsets`` (what may be committed), ``retry`` (which failures are
retried, how long to wait), ``handler`` (one record to one outcome). Transports: ``pool``
(gRPC worker channels) and ``app`` (the Kafka loop).
"""
