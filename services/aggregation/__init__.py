"""Aggregation: window results → timeline → segments → summary (pure code).

The local ``vila-stream analyze`` and the cluster's summarizer both call these.
"""
from services.aggregation.aggregator import StreamAggregator
from services.aggregation.segments import SegmentRun, merge_segments, same_meaning
from services.aggregation.summary import summarize, summarize_extractive, summarize_totals
from services.aggregation.timeline import entry_from_result

__all__ = [
    "SegmentRun",
    "StreamAggregator",
    "entry_from_result",
    "merge_segments",
    "same_meaning",
    "summarize",
    "summarize_extractive",
    "summarize_totals",
]
