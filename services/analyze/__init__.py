"""The local mode: ingest → model → aggregation in one process (``vila-stream analyze``)."""
from services.analyze.pipeline import AnalysisOutcome, LocalPipeline, PipelineOptions

__all__ = ["AnalysisOutcome", "LocalPipeline", "PipelineOptions"]
