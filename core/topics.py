"""Kafka topic names: the one place every service takes them from.

Key of every record = the stream id (UTF-8), so one stream's records stay in order on one
partition. Values are serialized ``vila.v1`` protobuf messages:

============================  ==================================================
``WINDOWS``                   ``vila.v1.FrameWindow`` (ingest -> dispatcher)
``RESULTS``                   ``vila.v1.WindowResult`` (dispatcher -> summarizer)
``EVENTS``                    ``vila.v1.StreamEvent`` (ingest -> summarizer)
``DLQ``                       the original record bytes, with the reason in headers
``INGEST_PROGRESS``           JSON: the last window of a file ingest published
                              (compacted; ``ingest/service/resume.py``)
============================  ==================================================
"""
from __future__ import annotations

WINDOWS = "vila.windows.v1"
RESULTS = "vila.results.v1"
EVENTS = "vila.events.v1"
DLQ = "vila.windows.dlq.v1"
INGEST_PROGRESS = "vila.ingest.progress.v1"

ALL = (WINDOWS, RESULTS, EVENTS, DLQ, INGEST_PROGRESS)
#: Topics that keep only the latest record per key.
COMPACTED = frozenset({INGEST_PROGRESS})

#: Partitions per topic when a service creates it (single broker, replication 1).
DEFAULT_PARTITIONS = 4
DEFAULT_REPLICATION = 1

# DLQ record headers (values are UTF-8).
DLQ_REASON = "vila-dlq-reason"
DLQ_STAGE = "vila-dlq-stage"
DLQ_SOURCE_TOPIC = "vila-dlq-source-topic"
DLQ_PARTITION = "vila-dlq-partition"
DLQ_OFFSET = "vila-dlq-offset"

# Result record headers (values are UTF-8): which dispatcher group published it, and why a window
# was escalated to the cloud tier (absent when it was not).
RESULT_GROUP = "vila-dispatcher-group"
RESULT_ESCALATED = "vila-escalated"
