"""Where a file's earlier ingest run stopped, so that a rerun publishes only what it had not.

After each window of a local file is acknowledged, the sender records ``{"source", "size", "mtime_ns", "seq",
"end"}`` on ``vila.ingest.progress.v1`` (compacted, keyed by stream id). A rerun of the same file (same path,
size and modification time) under the same stream id reads the stream's last record and skips the windows up
to its ``seq``: they are decoded again (the cut is the same) but not published, so no window is analysed
twice. Another file under that stream id, or ``--from-start``, publishes everything. The record is sent
without waiting: a run killed between a window's acknowledgement and its record republishes that one window.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass

from core import topics
from core.transport.topic_reader import read_topic
from ingest.sources import local_path

log = logging.getLogger("vila.ingest")


@dataclass(frozen=True)
class FileMark:
    """What identifies one version of a local file."""

    source: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, source: str) -> "FileMark":
        path = os.path.abspath(local_path(source))
        stat = os.stat(path)
        return cls(path, stat.st_size, stat.st_mtime_ns)


def progress_record(mark: FileMark, seq: int, end: float) -> bytes:
    """The value recorded once window ``seq`` (ending at ``end`` s) of the file is on Kafka."""
    return json.dumps({**asdict(mark), "seq": seq, "end": end}).encode()


def published_through(bootstrap: str, stream_id: str, mark: FileMark) -> int | None:
    """The last window seq an earlier run published of this very file under ``stream_id``; None: none."""
    last = None
    for record in read_topic(bootstrap, topics.INGEST_PROGRESS, key=stream_id):
        try:
            value = json.loads(record.value)
            same = (value["source"], value["size"], value["mtime_ns"]) == (mark.source, mark.size, mark.mtime_ns)
            last = int(value["seq"]) if same else None  # a later run of another file starts over
        except (ValueError, KeyError, TypeError):
            log.warning("stream %s: unreadable progress record at offset %d ignored", stream_id, record.offset)
    return last
